//! How a target's bytes are cut into the structured input it needs: fields separated by
//! a byte that text rarely holds, and a header block in the NATS text form.

use kenduren_bus::async_nats::header::{HeaderMap, HeaderName, HeaderValue};

/// Separates fields in a target's input (ASCII unit separator).
pub const FIELD_SEPARATOR: u8 = 0x1f;

/// Separates records (each a list of fields) in a target's input (ASCII record separator).
pub const RECORD_SEPARATOR: u8 = 0x1e;

/// Cuts `data` at [`RECORD_SEPARATOR`] into its records.
pub fn split_records(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|b| *b == RECORD_SEPARATOR)
}

/// Cuts `data` at [`FIELD_SEPARATOR`] into at most `n` fields (missing ones empty).
pub fn split_fields(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut fields: Vec<&[u8]> = data.splitn(n, |b| *b == FIELD_SEPARATOR).collect();
    fields.resize(n, &[]);
    fields
}

/// Reads `name: value` lines up to the first empty line as headers, the rest as payload.
/// Lines that are not a valid header name and value are skipped, as a NATS client
/// would never deliver them; repeated names append, as NATS allows.
pub fn parse_headers(data: &[u8]) -> (HeaderMap, &[u8]) {
    let (block, payload) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let mut map = HeaderMap::new();
    for line in block.split(|b| *b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            name.parse::<HeaderName>(),
            value.trim_start().parse::<HeaderValue>(),
        ) else {
            continue;
        };
        map.append(name, value);
    }
    (map, payload)
}

/// The input of the `cloudevent_headers` target for these headers and payload.
pub fn headers_input(headers: &HeaderMap, payload: &[u8]) -> Vec<u8> {
    let mut lines: Vec<String> = headers
        .iter()
        .flat_map(|(name, values)| values.iter().map(move |v| format!("{name}: {}", v.as_str())))
        .collect();
    // A fixed order, so the seed files do not change from one run to the next.
    lines.sort();
    let mut out = lines.join("\n").into_bytes();
    out.extend_from_slice(b"\n\n");
    out.extend_from_slice(payload);
    out
}
