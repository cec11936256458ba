//! A JetStream stream and subject prefix per test, and ways to publish into it.

use async_nats::jetstream::{self, stream::Stream};
use bytes::Bytes;
use kenduren_bus::{ensure_stream, CloudEvent, StreamSettings, Subjects};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use super::{block_on_side, nats_url};

/// A stream and subject prefix of its own, deleted at the end of the test.
pub struct TestBus {
    pub js: jetstream::Context,
    pub stream_name: String,
    pub subjects: Subjects,
}

impl TestBus {
    pub async fn create() -> Self {
        let id = Uuid::new_v4().simple().to_string();
        let subjects = Subjects::new(format!("t{}", &id[..12])).expect("valid prefix");
        let stream_name = format!("KT-{}", &id[..12]);
        let client = kenduren_bus::connect_with_name(&nats_url(), "kenduren-test")
            .await
            .expect("connect to NATS");
        let js = jetstream::new(client);
        ensure_stream(&js, &StreamSettings::new(&stream_name, subjects.clone()))
            .await
            .expect("ensure stream");
        Self {
            js,
            stream_name,
            subjects,
        }
    }

    pub async fn stream(&self) -> Stream {
        self.js.get_stream(&self.stream_name).await.expect("stream")
    }

    /// Every message in the stream, in stream order: (subject, Nats-Msg-Id, ce-id).
    pub async fn messages(&self) -> Vec<(String, String, String)> {
        let stream = self.stream().await;
        let info = stream.get_info().await.expect("stream info");
        let mut out = Vec::new();
        if info.state.messages == 0 {
            return out;
        }
        for seq in info.state.first_sequence..=info.state.last_sequence {
            let message = stream.get_raw_message(seq).await.expect("message");
            let header = |name: &str| {
                message
                    .headers
                    .get(name)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            };
            out.push((
                message.subject.to_string(),
                header("Nats-Msg-Id"),
                header("ce-id"),
            ));
        }
        out
    }

    /// Publishes `event` (binary mode) with an explicit `Nats-Msg-Id`.
    pub async fn publish(&self, subject: &str, event: &CloudEvent, msg_id: &str) {
        let mut headers = event.to_headers().expect("encodable");
        headers.insert("Nats-Msg-Id", msg_id);
        self.js
            .publish_with_headers(subject.to_owned(), headers, event.data.clone())
            .await
            .expect("publish")
            .await
            .expect("publish ack");
    }

    /// Publishes raw bytes and headers, e.g. garbage.
    pub async fn publish_raw(&self, subject: &str, headers: async_nats::HeaderMap, payload: &[u8]) {
        self.js
            .publish_with_headers(subject.to_owned(), headers, Bytes::copy_from_slice(payload))
            .await
            .expect("publish")
            .await
            .expect("publish ack");
    }

    /// Publishes bytes a well-behaved client cannot produce (e.g. non-UTF-8 header
    /// values) by speaking the NATS protocol directly.
    pub async fn publish_raw_protocol(&self, subject: &str, header_block: &[u8], payload: &[u8]) {
        let address = nats_url().trim_start_matches("nats://").to_owned();
        let mut tcp = tokio::net::TcpStream::connect(address)
            .await
            .expect("tcp connect");
        let mut buf = vec![0u8; 8192];
        let _info = tcp.read(&mut buf).await.expect("INFO");
        let mut frame = b"CONNECT {\"verbose\":false,\"headers\":true,\"protocol\":1}\r\n".to_vec();
        frame.extend_from_slice(
            format!(
                "HPUB {subject} {} {}\r\n",
                header_block.len(),
                header_block.len() + payload.len()
            )
            .as_bytes(),
        );
        frame.extend_from_slice(header_block);
        frame.extend_from_slice(payload);
        frame.extend_from_slice(b"\r\nPING\r\n");
        tcp.write_all(&frame).await.expect("publish");
        let read = tcp.read(&mut buf).await.expect("PONG");
        assert!(buf[..read].starts_with(b"PONG"), "server refused the raw publish");
    }

    /// Pending and unacknowledged message counts of a durable consumer.
    pub async fn consumer_backlog(&self, durable: &str) -> (u64, usize) {
        let info = self
            .stream()
            .await
            .consumer_info(durable)
            .await
            .expect("consumer info");
        (info.num_pending, info.num_ack_pending)
    }
}

impl Drop for TestBus {
    fn drop(&mut self) {
        let name = self.stream_name.clone();
        block_on_side(async move {
            if let Ok(client) = async_nats::connect(nats_url()).await {
                let _ = jetstream::new(client).delete_stream(&name).await;
            }
        });
    }
}
