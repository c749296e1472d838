//! Relinking a binary without rustc (docs/rustc-facts.md §6).
//!
//! A binary compiled with `-C save-temps --print link-args` keeps its object
//! files and prints the exact linker command. [`record`] turns that output
//! into a [`LinkRecipe`]: rustc's temp dir (it holds `symbols.o`) is moved to
//! `deps/<bin>.link/`, bitcode is deleted, and target-directory paths become
//! `{target}`. [`relink`] replays it after a dependency's codegen-only
//! change. Any failure is reported, and the caller rebuilds with rustc.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ledger::LinkRecipe;

const TARGET: &str = "{target}";

/// Flags that make rustc keep the link inputs and print the link command.
pub const RECORD_FLAGS: [&str; 4] = ["-C", "save-temps", "--print", "link-args"];

/// How rustc names the temporary files of the binary `main`: after the
/// crate and its hash, without the executable's extension.
fn object_prefix(main: &Path) -> Option<String> {
    let name = main.file_name()?.to_str()?;
    Some(format!("{}.", name.strip_suffix(".exe").unwrap_or(name)))
}

/// Remove what an earlier compile of this binary left (objects, bitcode, link dir).
pub fn clean(main: &Path) {
    let (Some(dir), Some(prefix)) = (main.parent(), object_prefix(main)) else {
        return;
    };
    let _ = std::fs::remove_dir_all(link_dir(main));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&prefix) && name.contains(".rcgu.") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

fn link_dir(main: &Path) -> PathBuf {
    let name = main
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    main.with_file_name(format!("{name}.link"))
}

/// Build a recipe from rustc's stdout after a successful compile of `main`.
///
/// `in_place`: the objects must stay at their names. A Mach-O binary
/// (Apple targets) keeps its debug info in them and names them, so they are
/// given their own copies there instead of being moved.
pub fn record(
    stdout: &str,
    main: &Path,
    target_dir: &Path,
    in_place: bool,
) -> Result<LinkRecipe, String> {
    let line = stdout
        .lines()
        .find(|l| l.contains("\"-o\""))
        .ok_or("rustc printed no link command")?;
    let (env, mut argv) = parse_command(line)?;
    if argv.is_empty() {
        return Err("empty link command".to_owned());
    }
    let deps = main.parent().ok_or("binary has no directory")?;
    // rustc's temp dir (`deps/rustcXXXXXX/symbols.o`) must outlive this build.
    let temp = argv
        .iter()
        .map(PathBuf::from)
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .find(|p| {
            p.parent() == Some(deps)
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("rustc"))
        });
    if let Some(temp) = temp {
        let stable = link_dir(main);
        let _ = std::fs::remove_dir_all(&stable);
        std::fs::rename(&temp, &stable)
            .map_err(|e| format!("could not keep {}: {e}", temp.display()))?;
        let (from, to) = (
            temp.to_string_lossy().into_owned(),
            stable.to_string_lossy().into_owned(),
        );
        for arg in &mut argv {
            if arg.starts_with(&from) {
                *arg = arg.replacen(&from, &to, 1);
            }
        }
    }
    drop_bitcode(main);
    match in_place {
        true => {
            for arg in &argv {
                let path = Path::new(arg);
                if path.extension().is_some_and(|e| e == "o") && path.starts_with(target_dir) {
                    unshare(path).map_err(|e| format!("could not keep {}: {e}", path.display()))?;
                }
            }
        }
        false => keep_objects(&mut argv, main)?,
    }
    let target = target_dir.to_string_lossy().into_owned();
    let portable = |s: String| {
        if s.starts_with(&target) {
            s.replacen(&target, TARGET, 1)
        } else {
            s
        }
    };
    let program = argv.remove(0);
    Ok(LinkRecipe {
        program,
        args: argv.into_iter().map(portable).collect(),
        env: env.into_iter().map(|(k, v)| (k, portable(v))).collect(),
    })
}

/// Move the object files `-C save-temps` left beside `main` (named after it;
/// an object a build script passed stays where it is) into the recipe's own
/// directory, and point the recipe at them there.
///
/// With incremental compilation they are hard links into rustc's
/// incremental cache. Nothing writes such a file in place once it has left
/// `deps/`: rustc only creates new files there and in its cache, and the
/// next compile's objects land at the old names, now free (at a name still
/// taken, an object would be written through the link into the cache). So
/// moving is as safe as the copy it replaces, and costs a rename per object
/// instead of their bytes (28 MB for ripgrep's `rg`). An ELF linker records
/// nowhere where its inputs were: relinking from here gives the same binary
/// (a Mach-O binary names its objects: see [`record`]).
fn keep_objects(argv: &mut [String], main: &Path) -> Result<(), String> {
    let (Some(deps), Some(stem)) = (main.parent(), main.file_name().and_then(|n| n.to_str()))
    else {
        return Err("binary has no directory".to_owned());
    };
    let prefix = format!("{stem}.");
    let dir = link_dir(main);
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("could not create {}: {e}", dir.display()))?;
    for arg in argv.iter_mut() {
        let path = Path::new(arg.as_str());
        let Some(name) = path.file_name().filter(|name| {
            path.parent() == Some(deps)
                && path.extension().is_some_and(|e| e == "o")
                && name.to_string_lossy().starts_with(&prefix)
        }) else {
            continue;
        };
        let kept = dir.join(name);
        std::fs::rename(path, &kept)
            .map_err(|e| format!("could not keep {}: {e}", path.display()))?;
        *arg = kept.to_string_lossy().into_owned();
    }
    Ok(())
}

/// Where the objects must stay at their names (Mach-O): a copy of its own
/// for each, so that nothing rustc or the linker does later reaches the
/// incremental cache through a shared file.
fn unshare(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if std::fs::metadata(path)?.nlink() <= 1 {
            return Ok(());
        }
    }
    let tmp = path.with_extension("o.unshare");
    std::fs::copy(path, &tmp)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn drop_bitcode(main: &Path) {
    let (Some(dir), Some(prefix)) = (main.parent(), object_prefix(main)) else {
        return;
    };
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&prefix) && name.ends_with(".bc") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Re-run a recorded link step. Returns the linker's complaint on failure.
pub fn relink(recipe: &LinkRecipe, target_dir: &Path) -> Result<(), String> {
    let target = target_dir.to_string_lossy();
    let resolve = |s: &String| s.replacen(TARGET, &target, 1);
    let output = crate::interrupt::output(
        Command::new(resolve(&recipe.program))
            .args(recipe.args.iter().map(resolve))
            .envs(recipe.env.iter().map(|(k, v)| (k, resolve(v)))),
    )
    .map_err(|e| format!("could not run the linker `{}`: {e}", recipe.program))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let excerpt: Vec<&str> = stderr.lines().take(6).collect();
    Err(format!(
        "the linker failed ({}): {}",
        output.status,
        excerpt.join(" | ")
    ))
}

/// Parse `K="v" K2="v2" "prog" "arg"...` as rustc prints a command
/// (Rust `{:?}` string quoting).
/// Environment assignments and the argument vector of a printed command.
type ParsedCommand = (Vec<(String, String)>, Vec<String>);

fn parse_command(line: &str) -> Result<ParsedCommand, String> {
    let mut env = Vec::new();
    let mut argv = Vec::new();
    let mut chars = line.trim().chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        let mut name = String::new();
        if c != '"' {
            while let Some(&c) = chars.peek() {
                if c == '=' {
                    break;
                }
                name.push(c);
                chars.next();
            }
            if chars.next() != Some('=') || chars.peek() != Some(&'"') {
                return Err(format!("unexpected text in link command near `{name}`"));
            }
        }
        chars.next(); // opening quote
        let mut value = String::new();
        loop {
            match chars.next() {
                None => return Err("unterminated string in link command".to_owned()),
                Some('"') => break,
                Some('\\') => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some('r') => value.push('\r'),
                    Some('0') => value.push('\0'),
                    Some('u') => {
                        let code: String =
                            chars.by_ref().skip(1).take_while(|c| *c != '}').collect();
                        let ch = u32::from_str_radix(&code, 16).ok().and_then(char::from_u32);
                        value.push(ch.ok_or("bad \\u escape in link command")?);
                    }
                    Some(other) => value.push(other),
                    None => return Err("dangling escape in link command".to_owned()),
                },
                Some(c) => value.push(c),
            }
        }
        if name.is_empty() {
            argv.push(value);
        } else {
            env.push((name, value));
        }
    }
    Ok((env, argv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_env_program_and_escaped_args() {
        let (env, argv) =
            parse_command(r#"LC_ALL="C" PATH="/a:/b" "cc" "-m64" "/t/x y.o" "-Wl,\"q\"" "\u{e9}""#)
                .unwrap();
        assert_eq!(
            env,
            vec![
                ("LC_ALL".into(), "C".into()),
                ("PATH".into(), "/a:/b".into())
            ]
        );
        assert_eq!(argv, vec!["cc", "-m64", "/t/x y.o", "-Wl,\"q\"", "é"]);
        assert!(parse_command(r#""cc" "unterminated"#).is_err());
    }
}
