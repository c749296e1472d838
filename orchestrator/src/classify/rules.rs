//! The classification rules, in one place. Each rule cites the fact it rests
//! on (`docs/rustc-facts.md`, §N) and has table tests in
//! `classify/tests.rs`, in both directions.
//!
//! **R1 (cosmetic)** — a file whose tokens are all equal, each at the same
//! line, column and byte column, with doc-comment *text* ignored where no
//! macro can read it, compiles to byte-identical objects and binaries (§4).
//!
//! **R2 (codegen-only)** — only the body of a function that no other crate can
//! see changed. A body is invisible downstream (§5) when the function is
//! [`codegen_eligible`]: not generic (lifetimes aside), no `impl Trait` in
//! arguments or return type, not `const`, not `async`, not `#[inline]` (or any
//! attribute outside [`BODY_SAFE_ATTRS`]), not a trait's default method, not in
//! a generic `impl`, and its body defines no item-producing macro call or
//! nested `impl` ([`body_is_self_contained`]).
//!
//! **R3 (signature)** — everything else: any signature (private too), any
//! struct/enum/union (private fields too), traits, impl headers, consts and
//! statics, macros, `use` items, attributes other than doc comments,
//! generic/inline bodies, item additions and removals.
//!
//! **R4 (positions)** — where a downstream crate embeds an item's spans
//! (panic locations, `line!()`, debuginfo of bodies it instantiates or
//! inlines), a pure position shift of that item is a signature change:
//! bodies that are not codegen-eligible, items containing macro calls, and
//! items with proc-macro attributes ([`positions_matter`]). Other items are
//! compared by tokens alone; their shifts only change the crate's own code.
//!
//! **R5 (proc macros)** — an item with a non-builtin attribute or a non-std
//! derive is interface as a whole, doc comments included (§5).
//!
//! **R6 (release)** — with opt-level ≥ 1 and no incremental, every body is
//! interface (cross-crate auto-inlining, §5): codegen-only becomes signature.
//!
//! **R7 (`cfg(test)`)** — items under `#[cfg(test)]` are not compiled into
//! libraries or binaries; their content is ignored (their size still moves
//! the items after them, which R1/R4 see). Unless `test` is a cfg of the
//! unit (`--cfg test` in its rustflags, or `cargo:rustc-cfg=test` from its
//! build script, [`cfg_test_is_set`]): then they are real code (§10) and any
//! change in a crate that has such items is a signature change.
//!
//! **R8 (text rustc reads outside tokens)** — a file with a bidirectional
//! control character anywhere, or with whitespace rustc does not accept as
//! whitespace (NBSP, U+3000, ...), is not classified ([`unclassifiable_text`]):
//! in a comment a bidi character is a deny-by-default lint, and syn takes
//! any Unicode whitespace where rustc rejects the token (§10), so even a
//! "whitespace" edit must reach rustc.
//!
//! **R9 (shadowed macros)** — [`EXPRESSION_MACROS`] are only known when they
//! are std's: a crate that defines a `macro_rules!` with such a name, imports
//! one with `use`, imports a crate's macros with `#[macro_use] extern crate`
//! or glob-imports another crate (`use dep::*`) makes every codegen-only
//! verdict a signature change (§10) ([`shadows_expression_macros`],
//! [`foreign_glob`]).
//!
//! **R10 (files read twice)** — a module file that is also read by
//! `include_str!`, `include_bytes!` or `include!` is data a dependent may
//! embed: any change to it is a signature change (§10).

use syn::visit::Visit;
use syn::{Attribute, Block, Meta, ReturnType, Signature, Type};

/// Attributes a rustc build understands itself, whose presence on an item
/// does not hand the item to a proc macro (R5).
pub const BUILTIN_ATTRS: &[&str] = &[
    "doc",
    "cfg",
    "cfg_attr",
    "allow",
    "warn",
    "deny",
    "forbid",
    "expect",
    "must_use",
    "deprecated",
    "inline",
    "cold",
    "track_caller",
    "no_mangle",
    "export_name",
    "link_section",
    "repr",
    "non_exhaustive",
    "derive",
    "macro_export",
    "macro_use",
    "path",
    "automatically_derived",
    "target_feature",
    "used",
    "link",
    "link_name",
    "no_std",
    "no_implicit_prelude",
    "recursion_limit",
    "type_length_limit",
    "crate_name",
    "crate_type",
    "windows_subsystem",
    "diagnostic",
    "default",
    "ignore",
    "test",
    "should_panic",
    "global_allocator",
    "panic_handler",
    "unsafe",
    "instruction_set",
    "rustfmt",
    "clippy",
    "coverage",
];

/// Attributes that leave a function's body invisible downstream (R2).
pub const BODY_SAFE_ATTRS: &[&str] = &[
    "doc",
    "cfg",
    "allow",
    "warn",
    "deny",
    "forbid",
    "expect",
    "must_use",
    "deprecated",
    "cold",
    "track_caller",
    "no_mangle",
    "export_name",
    "link_section",
    "rustfmt",
    "clippy",
];

/// Derives std provides; anything else is a proc macro (R5).
pub const STD_DERIVES: &[&str] = &[
    "Debug",
    "Clone",
    "Copy",
    "PartialEq",
    "Eq",
    "PartialOrd",
    "Ord",
    "Hash",
    "Default",
];

/// Macros known to expand to an expression or statement only — never to an
/// item or `impl` (§5). Any other macro call inside a body makes it interface.
pub const EXPRESSION_MACROS: &[&str] = &[
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "cfg",
    "column",
    "compile_error",
    "concat",
    "dbg",
    "env",
    "eprint",
    "eprintln",
    "file",
    "format",
    "format_args",
    "include_bytes",
    "include_str",
    "line",
    "matches",
    "module_path",
    "option_env",
    "panic",
    "print",
    "println",
    "stringify",
    "todo",
    "unimplemented",
    "unreachable",
    "vec",
    "write",
    "writeln",
];

fn attr_name(attr: &Attribute) -> String {
    attr.path()
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

/// `#[cfg(test)]` exactly (R7). `cfg(any(test, ..))` and friends are kept.
pub fn is_cfg_test(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && matches!(&a.meta, Meta::List(list) if list.tokens.to_string().trim() == "test")
    })
}

/// R5: a non-builtin attribute or a non-std derive hands the item to a proc
/// macro — also when `cfg_attr` applies it (`cfg_attr(feature = "serde",
/// derive(Serialize))`, §10): whether the predicate holds is not known here.
pub fn has_proc_macro_attr(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| meta_is_proc_macro(&attr.meta))
}

fn meta_is_proc_macro(meta: &Meta) -> bool {
    let path = meta.path();
    let name = path
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default();
    if path.segments.len() > 1 {
        return !matches!(name.as_str(), "rustfmt" | "clippy" | "diagnostic");
    }
    match (name.as_str(), meta) {
        ("derive", Meta::List(list)) => {
            let mut foreign = false;
            let parsed = list.parse_nested_meta(|nested| {
                let last = nested.path.segments.last().map(|s| s.ident.to_string());
                foreign |= !last.is_some_and(|n| STD_DERIVES.contains(&n.as_str()));
                Ok(())
            });
            foreign || parsed.is_err()
        }
        ("cfg_attr", Meta::List(list)) => {
            use syn::punctuated::Punctuated;
            let Ok(parts) =
                list.parse_args_with(Punctuated::<Meta, syn::Token![,]>::parse_terminated)
            else {
                return true; // not understood: assume the worst
            };
            // The first part is the predicate; the rest are attributes.
            parts.iter().skip(1).any(meta_is_proc_macro)
        }
        _ => !BUILTIN_ATTRS.contains(&name.as_str()),
    }
}

/// R4 for derives (§10): std derives generate code that dependents
/// instantiate (generic types) or inline (`#[inline]` methods such as
/// `clone` and `default`, kept as separate copies in dependents' objects),
/// with the type's source positions (panic locations, RUST_BACKTRACE=1
/// backtraces). Any derived type carries positions.
pub fn derives_code_dependents_copy(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| applies_derive(&a.meta))
}

fn applies_derive(meta: &Meta) -> bool {
    match meta {
        Meta::List(list) if list.path.is_ident("derive") => true,
        Meta::List(list) if list.path.is_ident("cfg_attr") => {
            use syn::punctuated::Punctuated;
            list.parse_args_with(Punctuated::<Meta, syn::Token![,]>::parse_terminated)
                .map_or(true, |parts| parts.iter().skip(1).any(applies_derive))
        }
        _ => false,
    }
}

/// R7: is `test` a cfg of the unit? `rustflags` as passed to rustc, and the
/// cfgs its build script printed.
pub fn cfg_test_is_set<'a>(
    rustflags: &[String],
    script_cfgs: impl IntoIterator<Item = &'a str>,
) -> bool {
    let is_test = |cfg: &str| cfg.trim() == "test";
    let from_flags = rustflags.iter().enumerate().any(|(i, flag)| {
        flag.strip_prefix("--cfg=").is_some_and(is_test)
            || (flag == "--cfg" && rustflags.get(i + 1).is_some_and(|v| is_test(v)))
    });
    from_flags || script_cfgs.into_iter().any(is_test)
}

/// R8: why rustc may read `source` differently from syn, if it may.
pub fn unclassifiable_text(source: &str) -> Option<&'static str> {
    // rustc's whitespace is Pattern_White_Space; `char::is_whitespace`
    // (what syn's tokenizer accepts) is wider.
    let rustc_whitespace = |c: char| {
        matches!(
            c,
            '\t' | '\n'
                | '\u{B}'
                | '\u{C}'
                | '\r'
                | ' '
                | '\u{85}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
        )
    };
    for c in source.chars() {
        if matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
            return Some(
                "the file contains bidirectional control characters, which rustc lints on",
            );
        }
        if c.is_whitespace() && !rustc_whitespace(c) {
            return Some(
                "the file contains whitespace characters rustc does not accept as whitespace",
            );
        }
    }
    None
}

/// R9: does this file define or import a macro that may shadow one of
/// [`EXPRESSION_MACROS`]?
pub fn shadows_expression_macros(file: &syn::File) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_item_macro(&mut self, item: &'ast syn::ItemMacro) {
            if let Some(name) = &item.ident
                && EXPRESSION_MACROS.contains(&name.to_string().as_str())
            {
                self.0 = true;
            }
            syn::visit::visit_item_macro(self, item);
        }
        fn visit_use_name(&mut self, name: &'ast syn::UseName) {
            self.0 |= EXPRESSION_MACROS.contains(&name.ident.to_string().as_str());
        }
        fn visit_use_rename(&mut self, rename: &'ast syn::UseRename) {
            self.0 |= EXPRESSION_MACROS.contains(&rename.rename.to_string().as_str());
        }
        fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
            let std_crate = matches!(item.ident.to_string().as_str(), "std" | "core" | "alloc");
            if !std_crate && item.attrs.iter().any(|a| a.path().is_ident("macro_use")) {
                self.0 = true;
            }
        }
    }
    let mut finder = Finder(false);
    finder.visit_file(file);
    finder.0
}

/// R9: the first segment of every glob import's path (`serde` for `use
/// serde::*;`): a glob from another crate may bring in a macro named like
/// std's; one from the crate itself only brings what the crate defines.
pub fn glob_import_roots(file: &syn::File) -> Vec<String> {
    struct Finder(Vec<String>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
            fn walk(tree: &syn::UseTree, root: Option<&str>, out: &mut Vec<String>) {
                match tree {
                    syn::UseTree::Path(p) => {
                        let first = root.map(str::to_owned).unwrap_or(p.ident.to_string());
                        walk(&p.tree, Some(&first), out);
                    }
                    syn::UseTree::Group(g) => {
                        for t in &g.items {
                            walk(t, root, out);
                        }
                    }
                    syn::UseTree::Glob(_) => out.push(root.unwrap_or("").to_owned()),
                    _ => {}
                }
            }
            walk(&item.tree, None, &mut self.0);
        }
    }
    let mut finder = Finder(Vec::new());
    finder.visit_file(file);
    finder.0.sort();
    finder.0.dedup();
    finder.0
}

/// R9: may a glob import rooted at `root` bring in a macro that shadows
/// std's? Only if it comes from another crate (`externs`: the unit's extern
/// crate names) that is not std's.
pub fn foreign_glob(root: &str, externs: &[String]) -> bool {
    !matches!(root, "std" | "core" | "alloc") && externs.iter().any(|e| e == root)
}

/// R10: the literal paths of `include_str!`, `include_bytes!` and `include!`
/// calls anywhere in the file.
/// A path built with `concat!` of literals and `env!("CARGO_MANIFEST_DIR")`
/// is kept as [`MANIFEST_DIR`]`/rest`; one under `env!("OUT_DIR")` is
/// skipped (build output, never a module); any other form is
/// [`UNRESOLVED_INCLUDE`].
pub fn included_paths(file: &syn::File) -> Vec<String> {
    struct Finder(Vec<String>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            let name = mac.path.segments.last().map(|s| s.ident.to_string());
            if matches!(
                name.as_deref(),
                Some("include_str" | "include_bytes" | "include")
            ) {
                match mac
                    .parse_body::<syn::Expr>()
                    .ok()
                    .as_ref()
                    .map(include_path)
                {
                    Some(Some(path)) if path.starts_with(OUT_DIR) => {}
                    Some(Some(path)) => self.0.push(path),
                    _ => self.0.push(UNRESOLVED_INCLUDE.to_owned()),
                }
            }
            syn::visit::visit_macro(self, mac);
        }
    }
    let mut finder = Finder(Vec::new());
    finder.visit_file(file);
    finder.0
}

/// Stands for the package directory in an included path.
pub const MANIFEST_DIR: &str = "$CARGO_MANIFEST_DIR";
const OUT_DIR: &str = "$OUT_DIR";
/// An include whose path is not known without expanding macros.
pub const UNRESOLVED_INCLUDE: &str = "?";

fn include_path(expr: &syn::Expr) -> Option<String> {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        syn::Expr::Macro(m) if m.mac.path.is_ident("concat") => {
            use syn::punctuated::Punctuated;
            let parts = m
                .mac
                .parse_body_with(Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
                .ok()?;
            parts.iter().map(include_path).collect()
        }
        syn::Expr::Macro(m) if m.mac.path.is_ident("env") => {
            match m.mac.parse_body::<syn::LitStr>().ok()?.value().as_str() {
                "CARGO_MANIFEST_DIR" => Some(MANIFEST_DIR.to_owned()),
                "OUT_DIR" => Some(OUT_DIR.to_owned()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// R2: can downstream crates see this function's body? `false` means no:
/// a body-only edit is codegen-only.
pub fn codegen_eligible(
    sig: &Signature,
    attrs: &[Attribute],
    body: &Block,
    in_generic_impl: bool,
) -> bool {
    !in_generic_impl
        && sig.constness.is_none()
        && sig.asyncness.is_none()
        && sig.generics.type_params().next().is_none()
        && sig.generics.const_params().next().is_none()
        && !sig.inputs.iter().any(|arg| match arg {
            syn::FnArg::Typed(t) => mentions_impl_trait(&t.ty),
            syn::FnArg::Receiver(r) => mentions_impl_trait(&r.ty),
        })
        && !matches!(&sig.output, ReturnType::Type(_, ty) if mentions_impl_trait(ty))
        && attrs.iter().all(|a| {
            BODY_SAFE_ATTRS.contains(&attr_name(a).as_str()) && a.path().segments.len() == 1
        })
        && body_is_self_contained(body)
}

fn mentions_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

/// R2: no nested `impl`, no item-position macro call, no nested item handed
/// to a proc macro, and no macro call outside [`EXPRESSION_MACROS`] anywhere
/// in the body.
pub fn body_is_self_contained(body: &Block) -> bool {
    struct Check(bool);
    impl<'ast> Visit<'ast> for Check {
        fn visit_item_impl(&mut self, _: &'ast syn::ItemImpl) {
            self.0 = false;
        }
        // An attribute macro on a nested item can emit global items (§10).
        fn visit_item(&mut self, item: &'ast syn::Item) {
            if has_proc_macro_attr(item_attrs(item)) {
                self.0 = false;
            }
            syn::visit::visit_item(self, item);
        }
        fn visit_item_macro(&mut self, _: &'ast syn::ItemMacro) {
            self.0 = false;
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            // std's macros only: `vec!` or `std::vec!`, never `other::vec!`.
            let segments = &mac.path.segments;
            let from_std = segments.len() == 1
                || segments.first().is_some_and(|s| {
                    matches!(s.ident.to_string().as_str(), "std" | "core" | "alloc")
                });
            let name = segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            // Their arguments are tokens syn does not parse: an `impl` or a
            // macro call hidden in them (`format!("{}", { impl T for U {} 0 })`).
            let known = from_std && EXPRESSION_MACROS.contains(&name.as_str());
            if !(known && tokens_are_expressions(&mac.tokens)) {
                self.0 = false;
            }
        }
    }
    let mut check = Check(true);
    check.visit_block(body);
    check.0
}

/// R5 for nested code: does anything in the item (itself, a method, a
/// field, an item in a body) carry a proc-macro attribute or derive?
pub fn item_hands_code_to_proc_macros(item: &syn::Item) -> bool {
    let mut finder = ProcMacroUse(false);
    finder.visit_item(item);
    finder.0
}

/// [`item_hands_code_to_proc_macros`] for an impl item.
pub fn impl_item_hands_code_to_proc_macros(item: &syn::ImplItem) -> bool {
    let mut finder = ProcMacroUse(false);
    finder.visit_impl_item(item);
    finder.0
}

struct ProcMacroUse(bool);

impl<'ast> Visit<'ast> for ProcMacroUse {
    fn visit_attribute(&mut self, attr: &'ast Attribute) {
        self.0 |= has_proc_macro_attr(std::slice::from_ref(attr));
    }
}

/// R2 inside a macro's arguments: no `impl`, no `macro_rules!`, no
/// exported symbol, and no macro call outside [`EXPRESSION_MACROS`].
fn tokens_are_expressions(tokens: &proc_macro2::TokenStream) -> bool {
    use proc_macro2::TokenTree;
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    trees.iter().enumerate().all(|(i, tree)| match tree {
        TokenTree::Group(g) => tokens_are_expressions(&g.stream()),
        TokenTree::Ident(ident) => {
            let name = ident.to_string();
            let called =
                matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!');
            !matches!(
                name.as_str(),
                "impl" | "macro_rules" | "no_mangle" | "export_name"
            ) && (!called || EXPRESSION_MACROS.contains(&name.as_str()))
        }
        _ => true,
    })
}

/// R4: does a downstream crate's output depend on where this item's tokens are?
pub fn positions_matter(
    tokens: &proc_macro2::TokenStream,
    exported_body: bool,
    proc_macro: bool,
) -> bool {
    exported_body || proc_macro || contains_macro_call(tokens)
}

/// `path ! (...)` anywhere in the tokens (attributes' `#!` excluded).
pub fn contains_macro_call(tokens: &proc_macro2::TokenStream) -> bool {
    use proc_macro2::TokenTree;
    let mut prev_bang = false;
    let mut prev_hash = false;
    for tree in tokens.clone() {
        match &tree {
            TokenTree::Group(g) => {
                if prev_bang || contains_macro_call(&g.stream()) {
                    return true;
                }
                prev_bang = false;
                prev_hash = false;
            }
            TokenTree::Punct(p) if p.as_char() == '!' => {
                prev_bang = !prev_hash;
                prev_hash = false;
            }
            TokenTree::Punct(p) if p.as_char() == '#' => {
                prev_hash = true;
                prev_bang = false;
            }
            // `macro_rules! name { .. }`: the group follows the name.
            TokenTree::Ident(_) if prev_bang => {}
            _ => {
                prev_bang = false;
                prev_hash = false;
            }
        }
    }
    false
}

/// The attributes of an item, whatever its kind.
pub fn item_attrs(item: &syn::Item) -> &[Attribute] {
    use syn::Item;
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}
