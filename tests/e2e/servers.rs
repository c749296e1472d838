//! Real cache servers for the tests, started on 127.0.0.1 on a free port in
//! a temp directory and stopped when dropped: `redis-server`, and nginx with
//! its WebDAV modules (Debian: `redis-server`, `nginx`,
//! `libnginx-mod-http-dav-ext`; `.ci/run` installs them).

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
