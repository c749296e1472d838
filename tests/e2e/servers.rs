//! Real cache servers for the tests, started on 127.0.0.1 on a free port in
//! a temp directory and stopped when dropped: `redis-server`, and nginx with
//! its WebDAV modules (Debian: `redis-server`, `nginx`,
//! `libnginx-mod-http-dav-ext`), and emulators of the object stores: moto's
//! S3 server and `gcp-storage-emulator` (PyPI), Azurite (npm). `.ci/run`
//! installs them all.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

fn require(program: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"] {
        let path = Path::new(dir).join(program);
        if path.is_file() {
            return path;
        }
    }
    panic!(
        "`{program}` is not installed: the cache tests need a real server \
         (`apt-get install {package}`; .ci/run installs it)"
    );
}

fn wait_listening(port: u16, child: &mut Child, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}) before listening:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} did not listen on port {port} within 20 s");
}

/// A server process that is stopped (and waited for) on drop.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    _dir: TempDir,
    pub dir: PathBuf,
}

impl Server {
    /// Stop the server now (the build using it goes on without it).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn redis() -> Server {
    let program = require("redis-server", "redis-server");
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let log = dir.path().join("redis.log");
    let mut child = Command::new(program)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir.path())
        .arg("--logfile")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server");
    wait_listening(port, &mut child, "redis-server", &log);
    Server {
        child: Some(child),
        port,
        dir: dir.path().to_path_buf(),
        _dir: dir,
    }
}

/// nginx serving `<dir>/dav` with WebDAV (`PUT`, `DELETE`, `PROPFIND`):
/// a Bazel-style HTTP cache at `http://127.0.0.1:<port>/<prefix>`.
pub fn nginx() -> Server {
    let program = require("nginx", "nginx libnginx-mod-http-dav-ext");
    let module = Path::new("/usr/lib/nginx/modules/ngx_http_dav_ext_module.so");
    assert!(
        module.is_file(),
        "nginx's WebDAV extension is not installed (`apt-get install libnginx-mod-http-dav-ext`; .ci/run installs it)"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    for sub in ["dav", "body"] {
        std::fs::create_dir_all(d.join(sub)).expect("create nginx dirs");
    }
    let port = free_port();
    let p = |sub: &str| d.join(sub).display().to_string();
    let conf = format!(
        r#"load_module {module};
daemon off;
master_process off;
pid {pid};
error_log {log};
events {{}}
http {{
  client_body_temp_path {body};
  proxy_temp_path {body};
  fastcgi_temp_path {body};
  uwsgi_temp_path {body};
  scgi_temp_path {body};
  access_log off;
  server {{
    listen 127.0.0.1:{port};
    root {dav};
    client_max_body_size 0;
    location / {{
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_ext_methods PROPFIND OPTIONS;
      create_full_put_path on;
      dav_access user:rw group:rw all:r;
    }}
  }}
}}
"#,
        module = module.display(),
        pid = p("nginx.pid"),
        log = p("error.log"),
        body = p("body"),
        dav = p("dav"),
    );
    std::fs::write(d.join("nginx.conf"), conf).expect("write nginx.conf");
    let mut child = Command::new(program)
        .arg("-c")
        .arg(d.join("nginx.conf"))
        .arg("-p")
        .arg(d)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    wait_listening(port, &mut child, "nginx", &d.join("error.log"));
    Server {
        child: Some(child),
        port,
        dir: d.to_path_buf(),
        _dir: dir,
    }
}

/// A cache the tests build against: its URL, and the variables its backend
/// reads (an emulated object store's endpoint and credentials).
#[derive(Clone, Debug)]
pub struct Remote {
    pub url: String,
    pub env: Vec<(String, String)>,
}

impl Remote {
    /// Point `cmd` at this cache.
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("ORCHESTRATOR_CACHE", &self.url);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
    }
}

impl From<&str> for Remote {
    fn from(url: &str) -> Remote {
        Remote {
            url: url.to_owned(),
            env: Vec::new(),
        }
    }
}

impl From<&String> for Remote {
    fn from(url: &String) -> Remote {
        Remote::from(url.as_str())
    }
}

impl From<&Remote> for Remote {
    fn from(remote: &Remote) -> Remote {
        remote.clone()
    }
}

/// The Python the object-store emulators run under: `ORCHESTRATOR_TEST_PYTHON`
/// (`.ci/run` makes a virtual environment) or `python3`.
fn python_with(module: &str, packages: &str) -> PathBuf {
    let python =
        PathBuf::from(std::env::var_os("ORCHESTRATOR_TEST_PYTHON").unwrap_or("python3".into()));
    let found = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "`{}` cannot import `{module}`: the object-store tests need it \
         (`pip install {packages}`; .ci/run installs it in a virtual environment \
         and sets ORCHESTRATOR_TEST_PYTHON)",
        python.display()
    );
    python
}

/// Start `cmd` (its output going to `<dir>/server.log`) and wait until it
/// listens on `port`.
fn serve(mut cmd: Command, dir: TempDir, port: u16, what: &str) -> Server {
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("server log");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("server log"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"));
    wait_listening(port, &mut child, what, &log_path);
    Server {
        child: Some(child),
        port,
        dir: dir.path().to_path_buf(),
        _dir: dir,
    }
}

/// One plain HTTP/1.1 request to 127.0.0.1; the response's status code.
fn http(port: u16, method: &str, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("send request");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {response:?}"))
}

/// An S3-compatible server (moto's, from PyPI: `moto[s3] flask flask-cors`)
/// with the bucket `orchestrator-cache`.
pub fn s3() -> (Server, Remote) {
    let python = python_with("moto.server", "'moto[s3]' flask flask-cors");
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut cmd = Command::new(python);
    cmd.args([
        "-m",
        "moto.server",
        "-H",
        "127.0.0.1",
        "-p",
        &port.to_string(),
    ]);
    let server = serve(cmd, dir, port, "moto (S3)");
    assert_eq!(
        http(port, "PUT", "/orchestrator-cache"),
        200,
        "create the bucket"
    );
    let env = [
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
    ];
    let remote = Remote {
        url: "s3://orchestrator-cache/team".into(),
        env: env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    };
    (server, remote)
}

/// A Google Cloud Storage emulator (`gcp-storage-emulator`, from PyPI) with
/// the bucket `orchestrator-cache`, found through `STORAGE_EMULATOR_HOST` as
/// Google's client libraries find it.
pub fn gcs() -> (Server, Remote) {
    let python = python_with("gcp_storage_emulator", "gcp-storage-emulator");
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut cmd = Command::new(python);
    cmd.args(["-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1"])
        .args(["--port", &port.to_string()])
        .args(["--default-bucket", "orchestrator-cache", "--in-memory"]);
    let server = serve(cmd, dir, port, "gcp-storage-emulator");
    let remote = Remote {
        url: "gs://orchestrator-cache/team".into(),
        env: vec![("STORAGE_EMULATOR_HOST".into(), format!("127.0.0.1:{port}"))],
    };
    (server, remote)
}

/// Azurite, Microsoft's Azure Storage emulator (npm: `azurite`), with the
/// container `orchestrator-cache`, reached through a connection string with
/// its well-known development account.
pub fn azurite() -> (Server, Remote) {
    const ACCOUNT: &str = "devstoreaccount1";
    const KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    let program = require("azurite-blob", "azurite (npm install -g azurite)");
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut cmd = Command::new(program);
    cmd.args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
        .arg("--location")
        .arg(dir.path())
        .args(["--silent", "--skipApiVersionCheck", "--disableTelemetry"]);
    let server = serve(cmd, dir, port, "azurite");
    // Creating a container needs a Shared Key signature (HMAC-SHA256 over
    // the canonical request); Python's standard library computes it.
    let create = Command::new(python_with("hmac", "(the standard library)"))
        .args(["-c", AZURE_CREATE_CONTAINER])
        .args([&port.to_string(), ACCOUNT, KEY, "orchestrator-cache"])
        .output()
        .expect("run python3");
    assert!(
        create.status.success(),
        "create the container: {}",
        String::from_utf8_lossy(&create.stderr)
    );
    let remote = Remote {
        url: "azblob://orchestrator-cache/team".into(),
        env: vec![(
            "AZURE_STORAGE_CONNECTION_STRING".into(),
            format!(
                "DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};\
                 BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
            ),
        )],
    };
    (server, remote)
}

const AZURE_CREATE_CONTAINER: &str = r#"
import base64, hashlib, hmac, http.client, sys
from email.utils import formatdate
port, account, key, container = sys.argv[1:5]
date, version = formatdate(usegmt=True), "2021-08-06"
resource = "/%s/%s/%s\nrestype:container" % (account, account, container)
sign = "PUT\n" + "\n" * 11 + "x-ms-date:%s\nx-ms-version:%s\n%s" % (date, version, resource)
mac = hmac.new(base64.b64decode(key), sign.encode(), hashlib.sha256).digest()
conn = http.client.HTTPConnection("127.0.0.1", int(port))
conn.request("PUT", "/%s/%s?restype=container" % (account, container), body=b"", headers={
    "x-ms-date": date, "x-ms-version": version,
    "Authorization": "SharedKey %s:%s" % (account, base64.b64encode(mac).decode())})
r = conn.getresponse()
sys.exit(0 if r.status == 201 else "%s %s" % (r.status, r.read()))
"#;
