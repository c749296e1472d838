//! cli_tool: a command-line front end for `core_lib` storage.
//!
//! Usage: `cli_tool [put KEY VALUE | get KEY | del KEY | list | hash TEXT]...`
//! With no arguments it prints usage and runs a fixed demo.

use core_lib::{MAX_KEY_LEN, MemoryStorage, Storage, checksum, kv_line, summarize};

const DEMO: &[&str] = &[
    "put", "Color", "blue", "put", "size", "10", "get", "color", "put", "color", "green", "del",
    "size", "get", "size", "hash", "hello", "put", "bad/key", "x", "list",
];

fn usage() {
    println!("usage: cli_tool [COMMAND]...");
    println!("commands:");
    println!("  put KEY VALUE   store VALUE under KEY");
    println!("  get KEY         print the value stored under KEY");
    println!("  del KEY         remove KEY");
    println!("  list            print every entry");
    println!("  hash TEXT       print the checksum of TEXT");
    println!("keys are normalized and at most {MAX_KEY_LEN} characters long");
}

/// Takes the next argument for `cmd`, or reports that it is missing.
fn next_arg<'a>(
    args: &mut impl Iterator<Item = &'a str>,
    cmd: &str,
    what: &str,
) -> Result<&'a str, String> {
    args.next().ok_or_else(|| format!("{cmd}: missing {what}"))
}

fn key_of(raw: &str) -> Result<String, String> {
    core_lib::normalize_key(raw).map_err(|e| format!("{raw:?}: {e}"))
}

fn run_one<'a, S: Storage>(
    store: &mut S,
    cmd: &'a str,
    args: &mut impl Iterator<Item = &'a str>,
) -> Result<String, String> {
    match cmd {
        "put" => {
            let raw = next_arg(args, cmd, "KEY")?;
            let value = next_arg(args, cmd, "VALUE")?;
            let key = key_of(raw)?;
            Ok(match store.put(&key, value.to_string()) {
                Some(old) => kv_line!(cmd, key, format!("{value} (was {old})")),
                None => kv_line!(cmd, key, value),
            })
        }
        "get" => {
            let key = key_of(next_arg(args, cmd, "KEY")?)?;
            let value = store.get(&key).unwrap_or_else(|| String::from("<missing>"));
            Ok(kv_line!(cmd, key, value))
        }
        "del" => {
            let key = key_of(next_arg(args, cmd, "KEY")?)?;
            let result = match store.delete(&key) {
                Some(old) => format!("removed {old}"),
                None => String::from("<missing>"),
            };
            Ok(kv_line!(cmd, key, result))
        }
        "list" => {
            let listing: Vec<String> = core_lib::records(store)
                .iter()
                .map(|r| r.describe())
                .collect();
            Ok(kv_line!(cmd, format!("({} keys)", store.len()), listing.join(" ")))
        }
        "hash" => {
            let text = next_arg(args, cmd, "TEXT")?;
            Ok(kv_line!(cmd, text, format!("{:04x}", checksum(text.as_bytes()))))
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

/// Runs every command in `args`, printing one line each. Returns the number
/// of commands that failed.
fn run<S: Storage>(store: &mut S, args: &[&str]) -> usize {
    let mut errors = 0;
    let mut iter = args.iter().copied();
    while let Some(cmd) = iter.next() {
        match run_one(store, cmd, &mut iter) {
            Ok(line) => println!("{line}"),
            Err(msg) => {
                errors += 1;
                println!("error: {msg}");
            }
        }
    }
    errors
}

fn main() {
    let owned: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = owned.iter().map(String::as_str).collect();
    let mut store = MemoryStorage::new();

    let errors = if args.is_empty() {
        usage();
        println!();
        println!("demo: cli_tool {}", DEMO.join(" "));
        run(&mut store, DEMO)
    } else {
        run(&mut store, &args)
    };

    println!("summary: {}", summarize(&store));
    if errors > 0 {
        println!("{errors} command(s) failed");
    }
}
