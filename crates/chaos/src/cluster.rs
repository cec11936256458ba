//! Private PostgreSQL and NATS instances that the suite owns, so it can crash, restart
//! and wipe them: a throwaway PostgreSQL cluster (initdb under the run's directory, run
//! as the `postgres` system user when we are root, as `scripts/ensure-services.sh`
//! does) and a `nats-server -js` with its own store directory.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

/// A free TCP port on 127.0.0.1 (taken and released at once; fine for a private run).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether something accepts TCP connections on `port`.
fn listening(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(300)).is_ok()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (postgres refuses
/// to run as root), from `/` so an unreadable working directory does not matter.
fn as_pg(program: &Path, args: &[&str]) -> Result<()> {
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    let output = command
        .args(args)
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    if !output.status.success() {
        bail!(
            "{} {} failed: {}{}",
            program.display(),
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Directory of initdb/pg_ctl: the newest /usr/lib/postgresql/<major>/bin.
fn pg_bindir() -> Result<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is not installed (apt-get install postgresql)")?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major = e.file_name().to_string_lossy().parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").exists().then_some((major, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop()
        .map(|(_, bin)| bin)
        .context("no /usr/lib/postgresql/<major>/bin/pg_ctl found")
}

/// A private PostgreSQL cluster with the durable defaults the guarantees rest on
/// (`fsync = on`, `synchronous_commit = on`).
#[derive(Debug)]
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    /// Port it listens on (127.0.0.1 only).
    pub port: u16,
}

impl Postgres {
    /// Initialises a cluster under `dir` and starts it.
    pub fn start(dir: PathBuf) -> Result<Self> {
        let bin = pg_bindir()?;
        let port = free_port()?;
        fs::create_dir_all(&dir)?;
        if is_root() {
            let status = Command::new("chown").args(["postgres:"]).arg(&dir).status()?;
            anyhow::ensure!(status.success(), "chown postgres {}", dir.display());
        }
        let data = dir.join("data");
        let data_s = data.to_string_lossy().into_owned();
        as_pg(
            &bin.join("initdb"),
            &[
                "-D",
                &data_s,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        )?;
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = ''\n\
             max_connections = 300\n\
             # The settings the guarantees rest on (both are PostgreSQL's defaults).\n\
             fsync = on\nsynchronous_commit = on\n"
        );
        // Written through the postgres user so the file is theirs.
        let conf_path = data.join("postgresql.auto.conf");
        let mut existing = fs::read_to_string(&conf_path).unwrap_or_default();
        existing.push_str(&conf);
        fs::write(&conf_path, existing).context("writing postgresql.auto.conf")?;
        let pg = Self { bin, dir, port };
        pg.up()?;
        Ok(pg)
    }

    /// Admin URL of a database in this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the stopped server and waits until it accepts connections.
    pub fn up(&self) -> Result<()> {
        let data = self.dir.join("data").to_string_lossy().into_owned();
        let log = self.dir.join("postgres.log").to_string_lossy().into_owned();
        as_pg(
            &self.bin.join("pg_ctl"),
            &["-D", &data, "-l", &log, "-w", "-t", "60", "start"],
        )?;
        wait_for(self.port, "postgres")
    }

    /// Stops the server like a crash (`-m immediate`: no checkpoint, WAL recovery on start).
    pub fn crash(&self) -> Result<()> {
        let data = self.dir.join("data").to_string_lossy().into_owned();
        as_pg(
            &self.bin.join("pg_ctl"),
            &["-D", &data, "-m", "immediate", "-w", "stop"],
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.crash();
    }
}

/// A private `nats-server -js` whose store lives in `dir`.
#[derive(Debug)]
pub struct Nats {
    dir: PathBuf,
    /// Port it listens on.
    pub port: u16,
    child: Option<Child>,
}

impl Nats {
    /// Starts nats-server with JetStream and file storage under `dir`.
    pub fn start(dir: PathBuf) -> Result<Self> {
        let mut nats = Self {
            dir,
            port: free_port()?,
            child: None,
        };
        nats.up()?;
        Ok(nats)
    }

    /// Client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the (stopped) server on the same port and store.
    pub fn up(&mut self) -> Result<()> {
        let store = self.dir.join("store");
        fs::create_dir_all(&store)?;
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("nats-server.log"))?;
        let bin = [
            "/usr/sbin/nats-server",
            "/usr/bin/nats-server",
            "/usr/local/bin/nats-server",
        ]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .context("nats-server is not installed (apt-get install nats-server)")?;
        let child = Command::new(bin)
            .arg("-js")
            .arg("-sd")
            .arg(&store)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting nats-server")?;
        self.child = Some(child);
        wait_for(self.port, "nats-server")
    }

    /// Kills the server (SIGKILL): whatever JetStream acked is in its files or the
    /// page cache, which a process crash does not lose.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Deletes the JetStream store (the server must be stopped).
    pub fn wipe(&mut self) -> Result<()> {
        anyhow::ensure!(self.child.is_none(), "wipe needs a stopped nats-server");
        let store = self.dir.join("store");
        if store.exists() {
            fs::remove_dir_all(&store).context("wiping the JetStream store")?;
        }
        Ok(())
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits up to 60 s for `port` to accept connections.
fn wait_for(port: u16, what: &str) -> Result<()> {
    let end = Instant::now() + Duration::from_secs(60);
    while Instant::now() < end {
        if listening(port) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what} did not listen on 127.0.0.1:{port} within 60 s")
}
