//! Table tests for the rules in `rules.rs`: every row is checked in both
//! directions (an edit and its undo belong to the same class), and each
//! side is checked against itself (no change at all).

use super::compare::{ChangeClass, compare_files};
use super::summary::{FileSummary, Items};
use ChangeClass::*;

/// The summary of a unit without `test` among its cfgs.
fn summarize(source: &str) -> FileSummary {
    super::summary::summarize(source, Items::WithoutTests)
}

fn class(before: &str, after: &str, release: bool) -> ChangeClass {
    compare_files(&summarize(before), &summarize(after), release)
        .map(|f| f.class)
        .unwrap_or(Cosmetic)
}

fn check(rows: &[(&str, &str, &str, ChangeClass)], release: bool) {
    for (name, before, after, expected) in rows {
        assert_eq!(
            class(before, after, release),
            *expected,
            "{name}: before → after"
        );
        assert_eq!(
            class(after, before, release),
            *expected,
            "{name}: after → before"
        );
        assert!(
            compare_files(&summarize(before), &summarize(before), release).is_none(),
            "{name}: a file compared with itself is unchanged"
        );
    }
}

#[test]
fn r1_cosmetic_edits_move_no_token() {
    check(
        &[
            (
                "comment at end of line",
                "fn a() -> u8 { 1 }\n",
                "fn a() -> u8 { 1 } // one\n",
                Cosmetic,
            ),
            (
                "comment text, same lines",
                "// old\nfn a() {}\n",
                "// a new comment\nfn a() {}\n",
                Cosmetic,
            ),
            (
                "trailing whitespace",
                "fn a() {}\nfn b() {}\n",
                "fn a() {}   \nfn b() {}\n",
                Cosmetic,
            ),
            (
                "same-length edit inside a comment",
                "fn a() -> u8 { 1 /* ab */ }\n",
                "fn a() -> u8 { 1 /* cd */ }\n",
                Cosmetic,
            ),
            (
                "doc comment text, same lines",
                "/// Adds.\npub fn add(a: u8) -> u8 { a }\n",
                "/// Adds two numbers.\npub fn add(a: u8) -> u8 { a }\n",
                Cosmetic,
            ),
            (
                "doc comment on a generic fn",
                "/// x\npub fn id<T>(t: T) -> T { t }\n",
                "/// y\npub fn id<T>(t: T) -> T { t }\n",
                Cosmetic,
            ),
            (
                "cfg(test) code, same size",
                "pub fn a() {}\n#[cfg(test)]\nmod tests { fn t() { assert_eq!(1, 1); } }\n",
                "pub fn a() {}\n#[cfg(test)]\nmod tests { fn t() { assert_eq!(2, 2); } }\n",
                Cosmetic,
            ),
            (
                "cfg(test) code growing at the end of the file",
                "pub fn a() {}\n#[cfg(test)]\nmod tests {}\n",
                "pub fn a() {}\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() {}\n}\n",
                Cosmetic,
            ),
        ],
        false,
    );
}

#[test]
fn r2_invisible_bodies_are_codegen_only() {
    check(
        &[
            (
                "private fn body",
                "fn h() -> u8 { 1 }\n",
                "fn h() -> u8 { 2 }\n",
                Codegen,
            ),
            (
                "pub non-generic fn body",
                "pub fn h() -> u8 { 1 }\n",
                "pub fn h() -> u8 { 1 + 1 }\n",
                Codegen,
            ),
            (
                "method of a non-generic impl",
                "pub struct S;\nimpl S { pub fn v(&self) -> u8 { 1 } }\n",
                "pub struct S;\nimpl S { pub fn v(&self) -> u8 { 2 } }\n",
                Codegen,
            ),
            (
                "trait impl method",
                "pub struct S;\nimpl Clone for S { fn clone(&self) -> S { S } }\n",
                "pub struct S;\nimpl Clone for S { fn clone(&self) -> S { let s = S; s } }\n",
                Codegen,
            ),
            (
                "body with expression macros",
                "fn p() { println!(\"a\"); }\n",
                "fn p() { println!(\"b {}\", format!(\"c\")); }\n",
                Codegen,
            ),
            (
                "lifetime-generic fn body",
                "fn f<'a>(s: &'a str) -> &'a str { s }\n",
                "fn f<'a>(s: &'a str) -> &'a str { &s[1..] }\n",
                Codegen,
            ),
            (
                "line shift of non-generic items",
                "fn a() {}\nstruct S;\nfn b() -> u8 { 1 }\n",
                "fn a() {\n}\nstruct S;\nfn b() -> u8 { 1 }\n",
                Codegen,
            ),
            (
                "column shift in a private body",
                "fn a() -> u8 { 1 }\n",
                "fn a() -> u8 {  1 }\n",
                Codegen,
            ),
            (
                "nested plain fn in body",
                "fn a() -> u8 { fn b() -> u8 { 1 } b() }\n",
                "fn a() -> u8 { fn b() -> u8 { 2 } b() }\n",
                Codegen,
            ),
        ],
        false,
    );
}

#[test]
fn r3_visible_things_are_signature() {
    check(
        &[
            (
                "private fn signature",
                "fn h(a: u8) {}\n",
                "fn h(a: u16) {}\n",
                Signature,
            ),
            (
                "generic fn body",
                "pub fn g<T>(t: T) -> T { t }\n",
                "pub fn g<T>(t: T) -> T { let u = t; u }\n",
                Signature,
            ),
            (
                "inline fn body",
                "#[inline]\npub fn i() -> u8 { 1 }\n",
                "#[inline]\npub fn i() -> u8 { 2 }\n",
                Signature,
            ),
            (
                "const fn body",
                "pub const fn c() -> u8 { 1 }\n",
                "pub const fn c() -> u8 { 2 }\n",
                Signature,
            ),
            (
                "async fn body",
                "pub async fn a() -> u8 { 1 }\n",
                "pub async fn a() -> u8 { 2 }\n",
                Signature,
            ),
            (
                "fn returning impl Trait",
                "pub fn it() -> impl Iterator<Item = u8> { 0..1 }\n",
                "pub fn it() -> impl Iterator<Item = u8> { 0..2 }\n",
                Signature,
            ),
            (
                "fn taking impl Trait",
                "pub fn d(x: impl Fn() -> u8) -> u8 { x() }\n",
                "pub fn d(x: impl Fn() -> u8) -> u8 { x() + 1 }\n",
                Signature,
            ),
            (
                "trait default method body",
                "pub trait T { fn m(&self) -> u8 { 1 } }\n",
                "pub trait T { fn m(&self) -> u8 { 2 } }\n",
                Signature,
            ),
            (
                "trait method added",
                "pub trait T { fn m(&self); }\n",
                "pub trait T { fn m(&self); fn flush(&self); }\n",
                Signature,
            ),
            (
                "method of a generic impl",
                "pub struct W<T>(T);\nimpl<T> W<T> { pub fn n(&self) -> u8 { 1 } }\n",
                "pub struct W<T>(T);\nimpl<T> W<T> { pub fn n(&self) -> u8 { 2 } }\n",
                Signature,
            ),
            (
                "private field type",
                "pub struct S { a: u8 }\n",
                "pub struct S { a: u16 }\n",
                Signature,
            ),
            (
                "enum variant added",
                "pub enum E { A }\n",
                "pub enum E { A, B }\n",
                Signature,
            ),
            (
                "const value",
                "pub const N: u8 = 1;\n",
                "pub const N: u8 = 2;\n",
                Signature,
            ),
            (
                "static value",
                "static N: u8 = 1;\n",
                "static N: u8 = 2;\n",
                Signature,
            ),
            (
                "macro_rules body",
                "#[macro_export]\nmacro_rules! m { () => { 1 } }\n",
                "#[macro_export]\nmacro_rules! m { () => { 2 } }\n",
                Signature,
            ),
            (
                "use item",
                "use std::fmt;\n",
                "use std::fmt::Write;\n",
                Signature,
            ),
            (
                "attribute added",
                "pub fn a() {}\n",
                "#[must_use]\npub fn a() {}\n",
                Signature,
            ),
            (
                "item added",
                "fn a() {}\n",
                "fn a() {}\nfn b() {}\n",
                Signature,
            ),
            (
                "impl header",
                "struct S;\nimpl Clone for S { fn clone(&self) -> S { S } }\n",
                "#[derive(Debug)]\nstruct S;\nimpl Clone for S { fn clone(&self) -> S { S } }\n",
                Signature,
            ),
            (
                "unknown macro in body",
                "fn a() { m!(1); }\n",
                "fn a() { m!(2); }\n",
                Signature,
            ),
            (
                "nested impl in body",
                "fn a() { struct L; impl L { fn x() {} } }\n",
                "fn a() { struct L; impl L { fn y() {} } }\n",
                Signature,
            ),
            (
                "inner attribute",
                "#![allow(dead_code)]\nfn a() {}\n",
                "#![allow(unused)]\nfn a() {}\n",
                Signature,
            ),
            ("file stops parsing", "fn a() {}\n", "fn a( {}\n", Signature),
        ],
        false,
    );
}

#[test]
fn r4_positions_matter_where_dependents_embed_them() {
    check(
        &[
            (
                "line shift above a generic fn",
                "fn a() {}\npub fn g<T>(t: T) -> T { t }\n",
                "fn a() {\n}\npub fn g<T>(t: T) -> T { t }\n",
                Signature,
            ),
            (
                "column shift inside an inline fn",
                "#[inline]\npub fn i() -> u8 { 1 }\n",
                "#[inline]\npub fn i() -> u8 {  1 }\n",
                Signature,
            ),
            (
                "line shift of a const using line!()",
                "fn a() {}\npub const L: u32 = line!();\n",
                "fn a() {\n}\npub const L: u32 = line!();\n",
                Signature,
            ),
            (
                "line shift above a trait with a default method",
                "fn a() {}\npub trait T { fn m(&self) { panic!() } }\n",
                "fn a() {\n}\npub trait T { fn m(&self) { panic!() } }\n",
                Signature,
            ),
        ],
        false,
    );
}

#[test]
fn r5_proc_macro_items_are_interface_docs_included() {
    check(
        &[
            (
                "doc on an item with a foreign derive",
                "/// a\n#[derive(Parser)]\npub struct Args;\n",
                "/// b\n#[derive(Parser)]\npub struct Args;\n",
                Signature,
            ),
            (
                "body of a fn with a proc-macro attribute",
                "#[tokio::main]\nfn main() { a(); }\n",
                "#[tokio::main]\nfn main() { b(); }\n",
                Signature,
            ),
            (
                "doc comment inside a macro invocation",
                "commands! {\n    /// a\n    run,\n}\n",
                "commands! {\n    /// b\n    run,\n}\n",
                Signature,
            ),
        ],
        false,
    );
    // std derives hand nothing to a proc macro: docs stay cosmetic.
    check(
        &[(
            "doc on an item with std derives",
            "/// a\n#[derive(Debug, Clone)]\npub struct S;\n",
            "/// b\n#[derive(Debug, Clone)]\npub struct S;\n",
            Cosmetic,
        )],
        false,
    );
}

#[test]
fn r6_release_makes_every_body_interface() {
    check(
        &[(
            "private fn body in release",
            "fn h() -> u8 { 1 }\n",
            "fn h() -> u8 { 2 }\n",
            Signature,
        )],
        true,
    );
    check(
        &[(
            "comment in release",
            "fn h() {}\n",
            "fn h() {} // c\n",
            Cosmetic,
        )],
        true,
    );
}

#[test]
fn r7_cfg_test_is_ignored_but_other_cfgs_are_not() {
    check(
        &[(
            "cfg(any(test, ..)) is compiled in some builds",
            "#[cfg(any(test, feature = \"x\"))]\nfn a() -> u8 { 1 }\n",
            "#[cfg(any(test, feature = \"x\"))]\nfn a() -> u16 { 1 }\n",
            Signature,
        )],
        false,
    );
}

#[test]
fn explanations_name_the_item() {
    let explain =
        |a: &str, b: &str| compare_files(&summarize(a), &summarize(b), false).map(|f| f.cause);
    assert_eq!(
        explain(
            "pub trait Storage { fn get(&self); }\n",
            "pub trait Storage { fn get(&self); fn flush(&self); }\n"
        ),
        Some("trait Storage: method flush added".to_owned())
    );
    assert_eq!(
        explain(
            "fn normalize() -> u8 { 1 }\n",
            "fn normalize() -> u8 { 2 }\n"
        ),
        Some("body of fn normalize changed".to_owned())
    );
    assert_eq!(
        explain("pub struct R { key: u8 }\n", "pub struct R { key: u16 }\n"),
        Some("struct R: field key changed".to_owned())
    );
    // A comment line at line 1 moves the crate docs and every item: the
    // explanation names an item that moved, not the inner attributes.
    assert_eq!(
        explain(
            "//! Crate docs.\nfn helper() -> u8 { 1 }\n",
            "// a new first line\n//! Crate docs.\nfn helper() -> u8 { 1 }\n"
        ),
        Some("fn helper moved".to_owned())
    );
    assert_eq!(
        explain("//! Docs.\n", "\n//! Docs.\n"),
        Some("inner attributes (`#![...]`) moved".to_owned())
    );
    assert_eq!(
        explain("#![allow(dead_code)]\n", "#![allow(unused)]\n"),
        Some("inner attributes (`#![...]`) changed".to_owned())
    );
}

/// Holes found by differential testing against cargo (`docs/rustc-facts.md` §10).
#[test]
fn differential_findings_are_not_underclassified() {
    check(
        &[
            (
                "R8: a bidirectional control character in a comment",
                "fn a() -> u8 { 1 } // plain\n",
                "fn a() -> u8 { 1 } // \u{202E}evil\n",
                Signature,
            ),
            (
                "R8: an ideographic space after a token (rustc rejects it, syn does not)",
                "pub struct S;\n",
                "pub struct S;\u{3000}\n",
                Signature,
            ),
            (
                "R8: a no-break space in a comment",
                "fn a() {} // x\n",
                "fn a() {} //\u{A0}x\n",
                Signature,
            ),
            (
                "R8: one in a doc comment",
                "/// plain\npub fn a() {}\n",
                "/// \u{2067}text\npub fn a() {}\n",
                Signature,
            ),
            (
                "R5: a proc-macro derive behind cfg_attr reads doc comments",
                "#[cfg_attr(feature = \"serde\", derive(Serialize))]\n/// old\npub struct S { a: u8 }\n",
                "#[cfg_attr(feature = \"serde\", derive(Serialize))]\n/// new\npub struct S { a: u8 }\n",
                Signature,
            ),
            (
                "R5: an attribute macro behind cfg_attr",
                "#[cfg_attr(unix, my_attr)]\nfn f() -> u8 { 1 }\n",
                "#[cfg_attr(unix, my_attr)]\nfn f() -> u8 { 2 }\n",
                Signature,
            ),
            (
                "R2: an attribute macro on an item nested in a private body",
                "fn f() -> u8 {\n    #[my_attr]\n    fn inner() {}\n    1\n}\n",
                "fn f() -> u8 {\n    #[my_attr]\n    fn inner() {}\n    2\n}\n",
                Signature,
            ),
            (
                "R5: an attribute macro on an inline module sees its children's bodies",
                "#[my_attr]\nmod m {\n    fn f() -> u8 { 1 }\n}\n",
                "#[my_attr]\nmod m {\n    fn f() -> u8 { 2 }\n}\n",
                Signature,
            ),
            (
                "R4: std derives on a generic type, moved",
                "#[derive(Debug, Clone)]\npub struct W<T>(pub T);\n",
                "\n#[derive(Debug, Clone)]\npub struct W<T>(pub T);\n",
                Signature,
            ),
            (
                "R4: std derives on a generic type behind cfg_attr, moved",
                "#[cfg_attr(unix, derive(Clone))]\npub struct W<T>(pub T);\n",
                "\n#[cfg_attr(unix, derive(Clone))]\npub struct W<T>(pub T);\n",
                Signature,
            ),
            (
                "R4: std derives on a non-generic type, moved (inlined clone/default keep positions)",
                "#[derive(Clone, Default)]\npub struct P(pub u8);\n",
                "\n#[derive(Clone, Default)]\npub struct P(pub u8);\n",
                Signature,
            ),
            (
                "R2: another crate's macro named like std's",
                "fn f() { base::vec!(M, 3); }\n",
                "fn f() { base::vec!(M, 4); }\n",
                Signature,
            ),
            (
                "R2: an impl hidden in a format! argument",
                "fn f() { let _ = format!(\"{}\", { impl T for U { const L: i64 = 3; } 0 }); }\n",
                "fn f() { let _ = format!(\"{}\", { impl T for U { const L: i64 = 4; } 0 }); }\n",
                Signature,
            ),
            (
                "R2: a macro call hidden in a println! argument",
                "fn f() { println!(\"{}\", make!(3)); }\n",
                "fn f() { println!(\"{}\", make!(4)); }\n",
                Signature,
            ),
            (
                "R5: a method with an attribute macro keeps its docs",
                "pub struct S;\nimpl S {\n    /// A long doc.\n    #[pm::stamp]\n    pub fn st() -> i64 { 1 }\n}\n",
                "pub struct S;\nimpl S {\n    /// Edited.\n    #[pm::stamp]\n    pub fn st() -> i64 { 1 }\n}\n",
                Signature,
            ),
            (
                "R5: a derive in an inline module keeps its docs",
                "pub mod inner {\n    /// Doc.\n    #[derive(pm::Named)]\n    pub struct P;\n}\n",
                "pub mod inner {\n    /// Edit.\n    #[derive(pm::Named)]\n    pub struct P;\n}\n",
                Signature,
            ),
            (
                "R5: a derive on a struct nested in a body keeps its docs",
                "pub fn f() {\n    /// Doc.\n    #[derive(pm::Named)]\n    struct I;\n}\n",
                "pub fn f() {\n    /// Edit.\n    #[derive(pm::Named)]\n    struct I;\n}\n",
                Signature,
            ),
            (
                "R5: a proc macro may read its input's comments",
                "#[derive(pm::Named)]\npub struct P {\n    pub v: i64, // a field\n}\n",
                "#[derive(pm::Named)]\npub struct P {\n    pub v: i64, // b field\n}\n",
                Signature,
            ),
            (
                "R4: a closure in an associated const, moved by a comment line in the impl",
                "pub struct S;\nimpl S {\n    pub const F: fn(i32) -> i32 = |x| 100 / x;\n}\n",
                "pub struct S;\nimpl S {\n    // moved\n    pub const F: fn(i32) -> i32 = |x| 100 / x;\n}\n",
                Signature,
            ),
        ],
        false,
    );
    // The fixes are no wider than the facts.
    check(
        &[
            (
                "a type without derives, moved",
                "pub struct P(pub u8);\n",
                "\npub struct P(pub u8);\n",
                Codegen,
            ),
            (
                "cfg_attr with only builtin attributes",
                "#[cfg_attr(unix, inline)]\npub fn f() -> u8 { 1 }\n",
                "#[cfg_attr(unix, inline)]\n/// doc\npub fn f() -> u8 { 1 }\n",
                Signature,
            ),
        ],
        false,
    );
}

#[test]
fn crate_level_facts_are_recorded_per_file() {
    use super::rules::cfg_test_is_set;
    let s = summarize("macro_rules! vec { () => { impl Foo {} } }\n");
    assert!(s.shadows_macros, "a crate-local vec! shadows std's");
    assert!(summarize("use my_macros::format;\n").shadows_macros);
    assert!(summarize("#[macro_use]\nextern crate lazy;\n").shadows_macros);
    assert!(!summarize("#[macro_use]\nextern crate alloc;\nfn f() { vec![1]; }\n").shadows_macros);
    assert!(!summarize("macro_rules! mine { () => {} }\n").shadows_macros);
    use super::rules::foreign_glob;
    let globs =
        summarize("use serde::*;\nuse crate::store::*;\nuse Kind::*;\nuse std::{io::*, fmt};\n");
    assert_eq!(globs.glob_roots, ["Kind", "crate", "serde", "std"]);
    let externs = ["serde".to_owned(), "std".to_owned()];
    assert!(foreign_glob("serde", &externs), "another crate's glob");
    assert!(!foreign_glob("crate", &externs) && !foreign_glob("Kind", &externs));
    assert!(
        !foreign_glob("std", &externs),
        "std's macros are the ones known"
    );

    let s = summarize("const T: &str = include_str!(\"data/table.rs\");\n");
    assert_eq!(s.includes, vec!["data/table.rs".to_owned()]);
    let s = summarize(
        "const A: &[u8] = include_bytes!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/src/lib.rs\"));\n\
         include!(concat!(env!(\"OUT_DIR\"), \"/gen.rs\"));\n\
         const B: &str = include_str!(my_path!());\n",
    );
    assert_eq!(s.includes, ["$CARGO_MANIFEST_DIR/src/lib.rs", "?"]);
    assert!(summarize("#[cfg(test)]\nmod tests {}\n").has_cfg_test);
    // Where `test` is a cfg (a test harness) they are code like any other.
    let tests = "#[cfg(test)]\nmod tests {\n    fn t() { assert!(true); }\n}\n";
    let with = super::summary::summarize(tests, Items::WithTests);
    assert!(!with.has_cfg_test);
    assert_eq!(
        with.items.len(),
        summarize("mod tests {\n    fn t() { assert!(true); }\n}\n")
            .items
            .len()
    );
    let edited = tests.replace("assert!(true)", "assert!(1 == 1)");
    assert!(
        compare_files(
            &with,
            &super::summary::summarize(&edited, Items::WithTests),
            false
        )
        .is_some(),
        "a test body edit is a change of the test harness"
    );
    let comment = tests.replace("(true); }", "(true); } // c");
    assert!(
        compare_files(
            &with,
            &super::summary::summarize(&comment, Items::WithTests),
            false
        )
        .is_none(),
        "a comment is not"
    );
    assert!(!summarize("#[cfg(any(test, unix))]\nmod m {}\n").has_cfg_test);

    let flags = |f: &[&str]| f.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(cfg_test_is_set(&flags(&["--cfg", "test"]), []));
    assert!(cfg_test_is_set(&flags(&["--cfg=test"]), []));
    assert!(cfg_test_is_set(&flags(&[]), ["test"]));
    assert!(!cfg_test_is_set(
        &flags(&["--cfg", "testing"]),
        ["feature=\"test\""]
    ));
}
