//! The README's walk-through, run as written: the fenced blocks marked
//! `<!-- walk-through: run -->` are pasted into one bash, in order, against a fresh
//! `kenduren dev` (own database, stream, subject prefix and ports; no
//! `KENDUREN_AUTH_KEY`, so it must print and use the development key). A block marked
//! `<!-- walk-through: repeat until WORD -->` is what a person re-runs until it prints
//! WORD; the test re-runs it for at most 30 seconds. The question must end ANSWERED.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

#[allow(dead_code)]
mod common;

use common::{binary, dev_addrs_env, free_port, nats_url, Reaped, Scratch};

/// What to do with one marked block of the README.
#[derive(Debug, PartialEq)]
enum Block {
    /// Run once; a failing command fails the walk-through.
    Run(String),
    /// Run again until its output has this word.
    RepeatUntil(String, String),
}

/// The marked fenced blocks of `readme`, in order.
fn marked_blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(directive) = line
            .trim()
            .strip_prefix("<!-- walk-through:")
            .and_then(|rest| rest.strip_suffix("-->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert_eq!(
            fence.trim(),
            "```sh",
            "a walk-through marker must precede a ```sh block"
        );
        let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let body = body.join("\n");
        match directive.trim() {
            "run" => blocks.push(Block::Run(body)),
            other => {
                let word = other
                    .strip_prefix("repeat until ")
                    .unwrap_or_else(|| panic!("unknown walk-through directive {other:?}"));
                blocks.push(Block::RepeatUntil(body, word.trim().to_owned()));
            }
        }
    }
    blocks
}

/// One bash script: the blocks as written, a repeated block in a bounded loop.
fn script(blocks: &[Block]) -> String {
    let mut script = String::from("set -euo pipefail\n");
    for block in blocks {
        match block {
            Block::Run(body) => {
                script.push_str(body);
                script.push('\n');
            }
            Block::RepeatUntil(body, word) => script.push_str(&format!(
                "for attempt in $(seq 60); do\n\
                 OUT=$(\n{body}\n) || true\n\
                 if printf '%s\\n' \"$OUT\" | grep -qw '{word}'; then printf '%s\\n' \"$OUT\"; break; fi\n\
                 if [ \"$attempt\" -eq 60 ]; then printf '%s\\n' \"$OUT\"; echo 'never printed {word}' >&2; exit 1; fi\n\
                 sleep 0.5\n\
                 done\n"
            )),
        }
    }
    script
}

/// Runs `command` to completion, killing it after `limit`.
fn run_with_limit(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().expect("output")
}

/// `kenduren dev` in the background, stopped when dropped (also when the test fails).
struct Dev {
    _child: Reaped,
    log: PathBuf,
}

impl Drop for Dev {
    /// Runs before the process is killed (fields drop after this): on Unix a process
    /// still writing to the removed log only writes to an unlinked file.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The environment both `kenduren dev` and the walk-through's client calls see.
fn deployment_env(command: &mut Command, stream: &str, prefix: &str) {
    command
        .env("KENDUREN_NATS_URL", nats_url())
        .env("KENDUREN_STREAM", stream)
        .env("KENDUREN_SUBJECT_PREFIX", prefix)
        // Whatever the developer's shell has must not leak into the walk-through.
        .env_remove("KENDUREN_AUTH_KEY")
        .env_remove("KENDUREN_TOKEN")
        .env_remove("NATS_USER")
        .env_remove("NATS_PASSWORD");
}

#[test]
fn the_readme_walk_through_takes_a_question_to_answered_on_kenduren_dev() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
        .expect("README.md");
    let blocks = marked_blocks(&readme);
    assert!(
        blocks
            .iter()
            .any(|b| matches!(b, Block::RepeatUntil(_, w) if w == "ANSWERED")),
        "the README walk-through no longer waits for ANSWERED: {blocks:#?}"
    );

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let scratch = runtime.block_on(Scratch::new());
    let id = scratch.id.clone();
    let (stream, prefix) = (scratch.stream(), scratch.prefix());
    let ports = [free_port(), free_port(), free_port(), free_port()];

    let log = std::env::temp_dir().join(format!("kenduren-walk-through-{id}.log"));
    let file = std::fs::File::create(&log).expect("log file");
    let mut command = Command::new(binary());
    command
        .arg("dev")
        .env("KENDUREN_DATABASE_URL", &scratch.url)
        .env("KENDUREN_METRICS_ADDR", "off")
        .env("KENDUREN_POOL_SIZE", "2")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::from(file.try_clone().expect("log file")))
        .stderr(Stdio::from(file));
    dev_addrs_env(&mut command, ports);
    deployment_env(&mut command, &stream, &prefix);
    let dev = Dev {
        _child: Reaped(command.spawn().expect("kenduren dev starts")),
        log,
    };

    // Up when every service reports SERVING (migrations done), as `kenduren health` sees it.
    let deadline = Instant::now() + Duration::from_secs(90);
    for port in ports {
        loop {
            let health = Command::new(binary())
                .args(["health", "--addr", &format!("127.0.0.1:{port}")])
                .output()
                .expect("kenduren health runs");
            if health.status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "kenduren dev did not come up:\n{}",
                std::fs::read_to_string(&dev.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let printed = std::fs::read_to_string(&dev.log).expect("dev output");
    assert!(
        printed.contains(&format!("KENDUREN_AUTH_KEY={}", kenduren::DEV_AUTH_KEY)),
        "kenduren dev did not print the development key:\n{printed}"
    );

    let workdir = std::env::temp_dir().join(format!("kenduren-walk-through-{id}"));
    std::fs::create_dir_all(&workdir).expect("work dir");
    let bin_dir = binary().parent().expect("binary directory");
    let path = std::env::join_paths(
        std::iter::once(bin_dir.to_path_buf()).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )
    .expect("PATH");
    let mut bash = Command::new("bash");
    bash.arg("-c")
        .arg(script(&blocks))
        .current_dir(&workdir)
        .env("PATH", path)
        .env("KENDUREN_INTAKE_URL", format!("http://127.0.0.1:{}", ports[0]))
        .env("KENDUREN_ROUTING_URL", format!("http://127.0.0.1:{}", ports[1]))
        .env("KENDUREN_ANSWERING_URL", format!("http://127.0.0.1:{}", ports[2]))
        .env("KENDUREN_REPORTING_URL", format!("http://127.0.0.1:{}", ports[3]));
    deployment_env(&mut bash, &stream, &prefix);
    let out = run_with_limit(&mut bash, Duration::from_secs(180));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "the walk-through failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let answered = stdout.lines().any(|l| {
        let words: Vec<&str> = l.split_whitespace().collect();
        words == ["status", "ANSWERED"]
    });
    assert!(answered, "`kenduren track` never said ANSWERED:\n{stdout}");
    assert!(
        stdout.contains("surat kehilangan dari kepolisian"),
        "the answer is not shown:\n{stdout}"
    );
    // The OPD's watch printed its own three events, decoded.
    for event in ["QuestionRouted", "QuestionAcknowledged", "QuestionAnswered"] {
        assert!(
            stdout.contains(&format!("  {event}  question ")),
            "{event} not watched:\n{stdout}"
        );
    }

    drop(dev);
    let _ = std::fs::remove_dir_all(&workdir);
    runtime.block_on(scratch.drop_all());
}

#[test]
fn marked_blocks_are_read_in_order_with_their_directives() {
    let readme =
        "intro\n<!-- walk-through: run -->\n```sh\nA=1\necho $A\n```\ntext\n```sh\nnot marked\n```\n\
                  <!-- walk-through: repeat until DONE -->\n```sh\nkenduren track\n```\n";
    assert_eq!(
        marked_blocks(readme),
        [
            Block::Run("A=1\necho $A".into()),
            Block::RepeatUntil("kenduren track".into(), "DONE".into()),
        ]
    );
}
