//! The classification rules, in one place. Each rule cites the fact it rests
//! on (`shared/notes/rustc-facts.md`, §N) and has table tests in
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
//! the items after them, which R1/R4 see).

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

/// R5: a non-builtin attribute or a non-std derive hands the item to a proc macro.
pub fn has_proc_macro_attr(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        if attr.path().segments.len() > 1 {
            return !matches!(
                attr_name(attr).as_str(),
                "rustfmt" | "clippy" | "diagnostic"
            );
        }
        let name = attr_name(attr);
        if name == "derive" {
            let mut foreign = false;
            let _ = attr.parse_nested_meta(|meta| {
                let last = meta.path.segments.last().map(|s| s.ident.to_string());
                foreign |= !last.is_some_and(|n| STD_DERIVES.contains(&n.as_str()));
                Ok(())
            });
            return foreign;
        }
        !BUILTIN_ATTRS.contains(&name.as_str())
    })
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

/// R2: no nested `impl`, no item-position macro call, and no macro call
/// outside [`EXPRESSION_MACROS`] anywhere in the body.
pub fn body_is_self_contained(body: &Block) -> bool {
    struct Check(bool);
    impl<'ast> Visit<'ast> for Check {
        fn visit_item_impl(&mut self, _: &'ast syn::ItemImpl) {
            self.0 = false;
        }
        fn visit_item_macro(&mut self, _: &'ast syn::ItemMacro) {
            self.0 = false;
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            let name = mac
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            if !EXPRESSION_MACROS.contains(&name.as_str()) {
                self.0 = false;
            }
        }
    }
    let mut check = Check(true);
    check.visit_block(body);
    check.0
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
