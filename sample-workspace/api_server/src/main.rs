//! api_server: a tiny in-memory request router over `core_lib::Storage`.
//!
//! It replays a fixed, built-in list of requests, so its output is the same
//! on every run.

use core_lib::{LoggingStorage, MAX_KEY_LEN, MemoryStorage, Storage, checksum, kv_line};

const REQUESTS: &[&str] = &[
    "PUT /users/alice 42",
    "PUT /users/bob 7",
    "GET /users/alice",
    "GET /users/carol",
    "PUT /users/Alice 43",
    "PUT /users/Dave-Smith 19",
    "DELETE /users/bob",
    "DELETE /users/bob",
    "GET /users/bob",
    "PUT /users/a-very-long-user-name 1",
    "PUT /users/eve!",
    "PATCH /users/alice 1",
    "GET /orders/1",
    "GET",
];

#[derive(Debug, PartialEq, Eq)]
enum Method {
    Get,
    Put,
    Delete,
}

struct Request<'a> {
    method: Method,
    path: &'a str,
    body: Option<&'a str>,
}

/// Status code and message for one handled request.
struct Response {
    status: u16,
    message: String,
}

impl Response {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

fn parse(line: &str) -> Result<Request<'_>, Response> {
    let mut parts = line.split_whitespace();
    let method = match parts.next() {
        Some("GET") => Method::Get,
        Some("PUT") => Method::Put,
        Some("DELETE") => Method::Delete,
        Some(other) => return Err(Response::new(405, format!("method {other} not allowed"))),
        None => return Err(Response::new(400, "empty request")),
    };
    let path = parts
        .next()
        .ok_or_else(|| Response::new(400, "missing path"))?;
    let body = parts.next();
    Ok(Request { method, path, body })
}

fn route<S: Storage>(store: &mut S, req: &Request<'_>) -> Response {
    let Some(raw_key) = req.path.strip_prefix("/users/") else {
        return Response::new(404, format!("no route for {}", req.path));
    };
    let key = match core_lib::normalize_key(raw_key) {
        Ok(key) => key,
        Err(err) => return Response::new(400, err.to_string()),
    };
    match req.method {
        Method::Get => match store.get(&key) {
            Some(value) => Response::new(200, format!("{key} = {value}")),
            None => Response::new(404, format!("{key} not found")),
        },
        Method::Put => {
            let Some(value) = req.body else {
                return Response::new(400, "missing body");
            };
            match store.put(&key, value.to_string()) {
                Some(old) => Response::new(200, format!("{key} updated ({old} -> {value})")),
                None => Response::new(201, format!("{key} created")),
            }
        }
        Method::Delete => match store.delete(&key) {
            Some(old) => Response::new(200, format!("{key} deleted (was {old})")),
            None => Response::new(404, format!("{key} not found")),
        },
    }
}

fn main() {
    let mut store = LoggingStorage::new(MemoryStorage::new());
    let mut ok = 0;
    let mut failed = 0;

    println!("api_server: replaying {} requests (max key length {MAX_KEY_LEN})", REQUESTS.len());
    for (i, line) in REQUESTS.iter().enumerate() {
        let response = match parse(line) {
            Ok(req) => route(&mut store, &req),
            Err(resp) => resp,
        };
        if response.status < 400 {
            ok += 1;
        } else {
            failed += 1;
        }
        let label = format!("#{:02}", i + 1);
        let status = format!("{} {}", response.status, response.message);
        println!("{}", kv_line!(label, line, status));
    }

    println!("---");
    println!("requests: {ok} ok, {failed} failed");
    println!("store log: {} operations", store.log().len());
    for entry in store.log() {
        println!("  {entry}");
    }
    println!("has alice: {}", store.contains("alice"));
    let store = store.into_inner();
    println!("summary: {}", core_lib::summarize(&store));
    let fingerprint: String = core_lib::records(&store)
        .iter()
        .map(|r| format!("{}:{:04x}", r.key(), checksum(r.value.as_bytes())))
        .collect::<Vec<_>>()
        .join(" ");
    println!("fingerprint: {fingerprint}");
}
