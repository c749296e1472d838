//! Parse one source file into a [`FileSummary`]: per item, hashes of what
//! exactly it is (with positions), what other crates can see of it, and — for
//! codegen-eligible functions — its body. Summaries are small, serializable
//! and cached by the file's content hash (`cache.rs`).

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::ToTokens;
use serde::{Deserialize, Serialize};
use syn::visit_mut::VisitMut;
use syn::{Attribute, ImplItem, Item, TraitItem, Visibility};

use super::rules;

/// Bump when the summary format or hashing changes: old cache entries are then ignored.
pub const SUMMARY_FORMAT: u32 = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSummary {
    pub format: u32,
    /// `false` if the file did not parse: every change to it is a signature change.
    pub parsed: bool,
    /// Inner attributes (`#![...]`) and anything outside items, exactly.
    pub inner: String,
    /// The same without positions: tells a move from an edit.
    pub inner_shape: String,
    pub items: Vec<ItemSummary>,
    /// Out-of-line `mod name;` declarations, for the module walker.
    pub modules: Vec<ModDecl>,
    /// Why the file cannot be classified although it parses (R8): every
    /// change to it is a signature change.
    pub unclassifiable: Option<String>,
    /// Some item was left out as `#[cfg(test)]` (R7).
    pub has_cfg_test: bool,
    /// Defines or imports a macro that may shadow a std macro (R9).
    pub shadows_macros: bool,
    /// First path segments of glob imports (R9).
    pub glob_roots: Vec<String>,
    /// Literal paths of `include_str!`/`include_bytes!`/`include!` (R10).
    pub includes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemSummary {
    /// Unique within the file: `store::trait Storage`, `impl Storage for MemoryStorage::fn get`.
    pub key: String,
    /// `fn`, `trait`, `struct`, `impl`, `const`, `macro`, `use`, ...
    pub kind: String,
    /// The name a user would search for (`Storage`, `normalize`); empty for impls and uses.
    pub name: String,
    /// Module path inside the file (`a::b` for items in inline modules).
    pub module: String,
    pub public: bool,
    /// All tokens with positions (doc text masked where allowed): R1.
    pub exact: String,
    /// All tokens without positions: tells a move from an edit.
    pub shape: String,
    /// What dependents can see: R2–R5.
    pub interface: String,
    /// Body hash of a codegen-eligible function (R2); `None` otherwise.
    pub body: Option<String>,
    /// Trait items, impl items, fields or variants: `(name, hash)`, to explain a change.
    pub members: Vec<(String, String)>,
    /// For methods: the impl they belong to (`impl Storage for MemoryStorage`)
    /// and the name of its self type (`MemoryStorage`).
    pub owner: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModDecl {
    pub name: String,
    /// `#[path = "..."]`, as written.
    pub path: Option<String>,
    /// Inline modules enclosing the declaration (`mod a { mod b; }` → `["a"]`).
    pub parents: Vec<String>,
    /// `#[cfg_attr(..)]` or a macro decides the path: the walker cannot follow it.
    pub unresolvable: bool,
}

/// Summarize `source`. Never fails: unparsable input gives `parsed: false`.
/// Which items a summary holds (R7): `#[cfg(test)]` items are left out,
/// except for a unit where `test` is a cfg (a test harness, `--cfg test`),
/// for which they are code like any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Items {
    WithoutTests,
    WithTests,
}

impl Items {
    pub fn for_unit(cfg_test: bool) -> Items {
        match cfg_test {
            true => Items::WithTests,
            false => Items::WithoutTests,
        }
    }
}

pub fn summarize(source: &str, items: Items) -> FileSummary {
    let Ok(file) = syn::parse_file(source) else {
        return FileSummary {
            format: SUMMARY_FORMAT,
            parsed: false,
            inner: String::new(),
            inner_shape: String::new(),
            items: Vec::new(),
            modules: Vec::new(),
            unclassifiable: None,
            has_cfg_test: false,
            shadows_macros: false,
            glob_roots: Vec::new(),
            includes: Vec::new(),
        };
    };
    // syn parses after a byte-order mark: spans count from there.
    let lines = Lines::of(source.strip_prefix('\u{feff}').unwrap_or(source));
    let mut cx = Summarizer {
        source,
        lines: &lines,
        items: Vec::new(),
        modules: Vec::new(),
        has_cfg_test: false,
        with_tests: items == Items::WithTests,
    };
    let mut inner_tokens = TokenStream::new();
    for attr in masked_attrs(&file.attrs) {
        attr.to_tokens(&mut inner_tokens);
    }
    cx.items(&file.items, &[]);
    let mut items = cx.items;
    dedup_keys(&mut items);
    FileSummary {
        format: SUMMARY_FORMAT,
        parsed: true,
        inner: hash_tokens(&inner_tokens, Some(&lines)),
        inner_shape: hash_tokens(&inner_tokens, None),
        items,
        modules: cx.modules,
        unclassifiable: rules::unclassifiable_text(source).map(str::to_owned),
        has_cfg_test: cx.has_cfg_test,
        shadows_macros: rules::shadows_expression_macros(&file),
        glob_roots: rules::glob_import_roots(&file),
        includes: rules::included_paths(&file),
    }
}

struct Summarizer<'a> {
    source: &'a str,
    lines: &'a Lines<'a>,
    items: Vec<ItemSummary>,
    modules: Vec<ModDecl>,
    has_cfg_test: bool,
    /// Keep `#[cfg(test)]` items (R7).
    with_tests: bool,
}

impl Summarizer<'_> {
    fn items(&mut self, items: &[Item], module: &[String]) {
        for item in items {
            if !self.with_tests && rules::is_cfg_test(rules::item_attrs(item)) {
                self.has_cfg_test = true;
                continue; // R7
            }
            self.item(item, module);
        }
    }

    fn item(&mut self, item: &Item, module: &[String]) {
        let proc_macro = rules::has_proc_macro_attr(rules::item_attrs(item));
        // Anything inside handed to a proc macro (a derive on a struct in a
        // body): its source text is interface too.
        let reads_source = rules::item_hands_code_to_proc_macros(item);
        // R5: a proc macro may read docs, so they are only masked elsewhere.
        let masked = if proc_macro {
            item.clone()
        } else {
            mask_docs(item)
        };
        let tokens = masked.to_token_stream();
        let exact = hash_tokens(&tokens, Some(self.lines));
        let module_path = module.join("::");
        let mut summary = ItemSummary {
            key: String::new(),
            kind: item_kind(item).to_owned(),
            name: item_name(item),
            module: module_path.clone(),
            public: is_public(item),
            exact,
            shape: hash_tokens(&tokens, None),
            interface: String::new(),
            body: None,
            members: Vec::new(),
            owner: None,
        };
        match &masked {
            Item::Fn(f) => {
                let eligible =
                    !proc_macro && rules::codegen_eligible(&f.sig, &f.attrs, &f.block, false);
                if eligible {
                    let mut head = TokenStream::new();
                    for attr in &f.attrs {
                        attr.to_tokens(&mut head);
                    }
                    f.vis.to_tokens(&mut head);
                    f.sig.to_tokens(&mut head);
                    summary.interface = hash_tokens(&head, None);
                    summary.body = Some(hash_tokens(&f.block.to_token_stream(), Some(self.lines)));
                } else {
                    summary.interface = self.interface_hash(&tokens, true, reads_source);
                }
            }
            Item::Impl(imp) => {
                self.impl_block(imp, &mut summary, module, proc_macro);
                return;
            }
            Item::Trait(t) => {
                self.has_cfg_test |= t
                    .items
                    .iter()
                    .any(|i| rules::is_cfg_test(trait_item_attrs(i)));
                summary.members = t
                    .items
                    .iter()
                    .filter(|i| !rules::is_cfg_test(trait_item_attrs(i)))
                    .map(|i| (trait_item_label(i), hash_tokens(&i.to_token_stream(), None)))
                    .collect();
                let has_defaults = t.items.iter().any(|i| match i {
                    TraitItem::Fn(f) => f.default.is_some(),
                    TraitItem::Const(c) => c.default.is_some(),
                    TraitItem::Type(_) => false,
                    _ => true,
                });
                summary.interface = self.interface_hash(&tokens, has_defaults, reads_source);
            }
            Item::Struct(s) => {
                summary.members = s
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let name = f
                            .ident
                            .as_ref()
                            .map(|n| n.to_string())
                            .unwrap_or_else(|| i.to_string());
                        (
                            format!("field {name}"),
                            hash_tokens(&f.to_token_stream(), None),
                        )
                    })
                    .collect();
                let derived = rules::derives_code_dependents_copy(&s.attrs);
                summary.interface = self.interface_hash(&tokens, derived, reads_source);
            }
            Item::Union(u) => {
                let derived = rules::derives_code_dependents_copy(&u.attrs);
                summary.interface = self.interface_hash(&tokens, derived, reads_source);
            }
            Item::Enum(e) => {
                summary.members = e
                    .variants
                    .iter()
                    .map(|v| {
                        (
                            format!("variant {}", v.ident),
                            hash_tokens(&v.to_token_stream(), None),
                        )
                    })
                    .collect();
                let derived = rules::derives_code_dependents_copy(&e.attrs);
                summary.interface = self.interface_hash(&tokens, derived, reads_source);
            }
            Item::Mod(m) => {
                let mut path = module.to_vec();
                path.push(m.ident.to_string());
                match &m.content {
                    // An attribute macro on an inline module reads (and may
                    // rewrite) everything in it (§10): one item, all interface.
                    Some(_) if proc_macro => {
                        summary.interface = self.interface_hash(&tokens, true, reads_source);
                    }
                    Some((_, items)) => {
                        // The declaration itself (attributes, visibility) is interface.
                        let mut head = TokenStream::new();
                        for attr in &m.attrs {
                            attr.to_tokens(&mut head);
                        }
                        m.vis.to_tokens(&mut head);
                        m.ident.to_tokens(&mut head);
                        summary.interface = hash_tokens(&head, None);
                        summary.exact = hash_tokens(&head, Some(self.lines));
                        self.push(summary);
                        self.items(items, &path);
                        return;
                    }
                    None => {
                        self.modules.push(mod_decl(m, module));
                        summary.interface = hash_tokens(&tokens, None);
                    }
                }
            }
            Item::Const(_) | Item::Static(_) | Item::Macro(_) | Item::Verbatim(_) => {
                summary.interface = self.interface_hash(&tokens, true, reads_source);
            }
            _ => summary.interface = self.interface_hash(&tokens, false, reads_source),
        }
        self.push(summary);
    }

    fn impl_block(
        &mut self,
        imp: &syn::ItemImpl,
        summary: &mut ItemSummary,
        module: &[String],
        proc_macro: bool,
    ) {
        let generic = imp
            .generics
            .params
            .iter()
            .any(|p| !matches!(p, syn::GenericParam::Lifetime(_)));
        let mut header = TokenStream::new();
        for attr in &imp.attrs {
            attr.to_tokens(&mut header);
        }
        imp.defaultness.to_tokens(&mut header);
        imp.unsafety.to_tokens(&mut header);
        imp.generics.to_tokens(&mut header);
        if let Some((bang, path, _)) = &imp.trait_ {
            bang.to_tokens(&mut header);
            path.to_tokens(&mut header);
        }
        imp.self_ty.to_tokens(&mut header);
        imp.generics.where_clause.to_tokens(&mut header);
        let label = impl_label(imp);
        summary.name = String::new();
        summary.kind = "impl".to_owned();
        let mut interface = blake3::Hasher::new();
        interface.update(hash_tokens(&header, None).as_bytes());
        let mut methods = Vec::new();
        for impl_item in &imp.items {
            if rules::is_cfg_test(impl_item_attrs(impl_item)) {
                self.has_cfg_test = true;
                continue;
            }
            let item_tokens = impl_item.to_token_stream();
            let member_hash = hash_tokens(&item_tokens, None);
            summary
                .members
                .push((impl_item_label(impl_item), member_hash));
            match impl_item {
                ImplItem::Fn(f)
                    if !proc_macro
                        && rules::codegen_eligible(&f.sig, &f.attrs, &f.block, generic) =>
                {
                    let mut head = TokenStream::new();
                    for attr in &f.attrs {
                        attr.to_tokens(&mut head);
                    }
                    f.vis.to_tokens(&mut head);
                    f.sig.to_tokens(&mut head);
                    let head_hash = hash_tokens(&head, None);
                    interface.update(head_hash.as_bytes());
                    methods.push(ItemSummary {
                        key: String::new(),
                        kind: "fn".to_owned(),
                        name: f.sig.ident.to_string(),
                        module: summary.module.clone(),
                        public: matches!(f.vis, Visibility::Public(_)) || imp.trait_.is_some(),
                        exact: hash_tokens(&item_tokens, Some(self.lines)),
                        shape: hash_tokens(&item_tokens, None),
                        interface: head_hash,
                        body: Some(hash_tokens(&f.block.to_token_stream(), Some(self.lines))),
                        members: Vec::new(),
                        owner: Some((label.clone(), self_type_name(&imp.self_ty))),
                    });
                }
                _ => {
                    // Not eligible: the whole item is interface, positions
                    // included when its body or value is exported (R4); a
                    // const's value can hold a closure, with its positions (§10).
                    let exported_body = matches!(impl_item, ImplItem::Fn(_) | ImplItem::Const(_));
                    let reads_source =
                        proc_macro || rules::impl_item_hands_code_to_proc_macros(impl_item);
                    let hash = self.interface_hash(&item_tokens, exported_body, reads_source);
                    interface.update(hash.as_bytes());
                }
            }
        }
        summary.interface = interface.finalize().to_hex().to_string();
        summary.exact = hash_tokens(&header, Some(self.lines));
        summary.shape = hash_tokens(&header, None);
        summary.key = format!("{}{label}", module_prefix(module));
        let impl_key = summary.key.clone();
        self.items.push(summary.clone());
        for mut method in methods {
            method.key = format!("{impl_key}::fn {}", method.name);
            self.items.push(method);
        }
    }

    fn interface_hash(
        &self,
        tokens: &TokenStream,
        exported_body: bool,
        proc_macro: bool,
    ) -> String {
        let positions = rules::positions_matter(tokens, exported_body, proc_macro);
        let hash = hash_tokens(tokens, positions.then_some(self.lines));
        if !proc_macro {
            return hash;
        }
        // A proc macro can read its input's source text, comments included
        // (`Span::source_text`): the text is interface too (R5).
        let mut hasher = blake3::Hasher::new();
        hasher.update(hash.as_bytes());
        hasher.update(self.source_text(tokens).as_bytes());
        hasher.finalize().to_hex().to_string()
    }

    /// The source text from the first to the last token of `tokens`.
    fn source_text(&self, tokens: &TokenStream) -> &str {
        let mut range: Option<(usize, usize)> = None;
        for tree in tokens.clone() {
            let r = tree.span().byte_range();
            range = Some(match range {
                None => (r.start, r.end),
                Some((start, end)) => (start.min(r.start), end.max(r.end)),
            });
        }
        range
            .and_then(|(start, end)| self.source.get(start..end))
            .unwrap_or("")
    }

    fn push(&mut self, mut summary: ItemSummary) {
        let prefix = if summary.module.is_empty() {
            String::new()
        } else {
            format!("{}::", summary.module)
        };
        summary.key = format!("{prefix}{} {}", summary.kind, summary.name);
        self.items.push(summary);
    }
}

fn module_prefix(module: &[String]) -> String {
    if module.is_empty() {
        String::new()
    } else {
        format!("{}::", module.join("::"))
    }
}

/// Two items with one key (two `impl Foo` blocks): number the later ones.
fn dedup_keys(items: &mut [ItemSummary]) {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for item in items {
        let count = seen.entry(item.key.clone()).or_default();
        *count += 1;
        if *count > 1 {
            item.key = format!("{} #{}", item.key, count);
        }
    }
}

fn mod_decl(m: &syn::ItemMod, parents: &[String]) -> ModDecl {
    let mut path = None;
    let mut unresolvable = false;
    for attr in &m.attrs {
        if attr.path().is_ident("path") {
            match &attr.meta {
                syn::Meta::NameValue(nv) => match &nv.value {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }) => path = Some(s.value()),
                    _ => unresolvable = true,
                },
                _ => unresolvable = true,
            }
        }
        if attr.path().is_ident("cfg_attr") {
            unresolvable = true;
        }
    }
    ModDecl {
        name: m.ident.to_string(),
        path,
        parents: parents.to_vec(),
        unresolvable,
    }
}

/// Replace doc-comment text with nothing, keeping each token's span (R1).
/// Only attributes syn parsed are touched: docs inside macro invocations are
/// tokens a macro may read, and stay.
fn mask_docs(item: &Item) -> Item {
    let mut item = item.clone();
    DocMask.visit_item_mut(&mut item);
    item
}

fn masked_attrs(attrs: &[Attribute]) -> Vec<Attribute> {
    let mut attrs = attrs.to_vec();
    for attr in &mut attrs {
        DocMask.visit_attribute_mut(attr);
    }
    attrs
}

struct DocMask;

impl VisitMut for DocMask {
    // What a proc macro receives keeps its docs (R5): nested items, impl
    // and trait items, fields and variants with a proc-macro attribute.
    fn visit_item_mut(&mut self, item: &mut Item) {
        if !rules::has_proc_macro_attr(rules::item_attrs(item)) {
            syn::visit_mut::visit_item_mut(self, item);
        }
    }
    fn visit_impl_item_mut(&mut self, item: &mut ImplItem) {
        if !rules::has_proc_macro_attr(impl_item_attrs(item)) {
            syn::visit_mut::visit_impl_item_mut(self, item);
        }
    }
    fn visit_trait_item_mut(&mut self, item: &mut TraitItem) {
        if !rules::has_proc_macro_attr(trait_item_attrs(item)) {
            syn::visit_mut::visit_trait_item_mut(self, item);
        }
    }

    fn visit_attribute_mut(&mut self, attr: &mut Attribute) {
        if let syn::Meta::NameValue(nv) = &mut attr.meta
            && nv.path.is_ident("doc")
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &mut nv.value
        {
            *s = syn::LitStr::new("", s.span());
        }
    }
}

/// Where each line of a source starts, to hash tokens' positions.
pub struct Lines<'a> {
    source: &'a str,
    /// Byte offset of the start of each line.
    starts: Vec<usize>,
    /// Per line: only ASCII, so a column in characters is one in bytes.
    ascii: Vec<bool>,
}

impl<'a> Lines<'a> {
    pub fn of(source: &'a str) -> Lines<'a> {
        let starts: Vec<usize> = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let ascii = starts
            .iter()
            .enumerate()
            .map(|(i, &start)| {
                let end = starts.get(i + 1).copied().unwrap_or(source.len());
                source.as_bytes()[start..end].is_ascii()
            })
            .collect();
        Lines {
            source,
            starts,
            ascii,
        }
    }

    /// The byte offset, from its line's start, of the character at
    /// (1-based `line`, `column` in characters), as proc-macro2 counts them.
    fn byte_column(&self, line: usize, column: usize) -> Option<usize> {
        let index = line.checked_sub(1)?;
        let start = *self.starts.get(index)?;
        if self.ascii[index] {
            return Some(column);
        }
        let text = self.source.get(start..)?;
        text.char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(text.len()))
            .nth(column)
    }
}

/// blake3 over the token kinds and texts, and — with `lines` — each
/// token's line, column and byte column.
pub fn hash_tokens(tokens: &TokenStream, lines: Option<&Lines<'_>>) -> String {
    // Written out first and hashed at once: blake3 hashes a stream as it
    // hashes its concatenation, and one call costs less than thousands.
    let mut bytes = Vec::new();
    let mut text = String::new();
    feed(&mut bytes, tokens, lines, &mut text);
    blake3::hash(&bytes).to_hex().to_string()
}

/// `text` is a buffer for tokens' texts, kept to spare an allocation each.
fn feed(out: &mut Vec<u8>, tokens: &TokenStream, lines: Option<&Lines<'_>>, text: &mut String) {
    use std::fmt::Write;
    for tree in tokens.clone() {
        match &tree {
            TokenTree::Group(g) if is_doc_attr(g) => {
                // A doc comment's tokens all carry the comment's span, whose
                // end moves with its text: only where it starts counts (R1).
                out.extend_from_slice(b"[doc");
                position(out, g.span_open(), lines);
                feed(out, &g.stream(), None, text);
            }
            TokenTree::Group(g) => {
                let open = match g.delimiter() {
                    Delimiter::Parenthesis => "(",
                    Delimiter::Brace => "{",
                    Delimiter::Bracket => "[",
                    Delimiter::None => "∅",
                };
                out.extend_from_slice(open.as_bytes());
                position(out, g.span_open(), lines);
                feed(out, &g.stream(), lines, text);
                out.extend_from_slice(b")");
                position(out, g.span_close(), lines);
            }
            TokenTree::Ident(i) => {
                out.extend_from_slice(b"i");
                text.clear();
                let _ = write!(text, "{i}");
                out.extend_from_slice(text.as_bytes());
                position(out, i.span(), lines);
            }
            TokenTree::Punct(p) => {
                out.extend_from_slice(b"p");
                out.extend_from_slice(p.as_char().encode_utf8(&mut [0; 4]).as_bytes());
                out.extend_from_slice(if p.spacing() == proc_macro2::Spacing::Joint {
                    b"j"
                } else {
                    b"a"
                });
                position(out, p.span(), lines);
            }
            TokenTree::Literal(l) => {
                out.extend_from_slice(b"l");
                text.clear();
                let _ = write!(text, "{l}");
                out.extend_from_slice(text.as_bytes());
                position(out, l.span(), lines);
            }
        }
        out.extend_from_slice(b"\0");
    }
}

fn is_doc_attr(group: &proc_macro2::Group) -> bool {
    group.delimiter() == Delimiter::Bracket
        && matches!(group.stream().into_iter().next(), Some(TokenTree::Ident(i)) if i == "doc")
}

fn position(out: &mut Vec<u8>, span: Span, lines: Option<&Lines<'_>>) {
    let Some(lines) = lines else { return };
    let start = span.start();
    // From the line and column (cheap), not `Span::byte_range` (which maps
    // characters to bytes through a shared table): the same number.
    let byte_column = lines
        .byte_column(start.line, start.column)
        .unwrap_or_else(|| {
            let byte = span.byte_range().start;
            lines
                .starts
                .get(start.line.saturating_sub(1))
                .map(|s| byte.saturating_sub(*s))
                .unwrap_or(byte)
        });
    out.extend_from_slice(&(start.line as u64).to_le_bytes());
    out.extend_from_slice(&(start.column as u64).to_le_bytes());
    out.extend_from_slice(&(byte_column as u64).to_le_bytes());
}

fn trait_item_attrs(item: &TraitItem) -> &[Attribute] {
    match item {
        TraitItem::Const(i) => &i.attrs,
        TraitItem::Fn(i) => &i.attrs,
        TraitItem::Type(i) => &i.attrs,
        TraitItem::Macro(i) => &i.attrs,
        _ => &[],
    }
}

fn impl_item_attrs(item: &ImplItem) -> &[Attribute] {
    match item {
        ImplItem::Const(i) => &i.attrs,
        ImplItem::Fn(i) => &i.attrs,
        ImplItem::Type(i) => &i.attrs,
        ImplItem::Macro(i) => &i.attrs,
        _ => &[],
    }
}

fn item_kind(item: &Item) -> &'static str {
    match item {
        Item::Const(_) => "const",
        Item::Enum(_) => "enum",
        Item::ExternCrate(_) => "extern crate",
        Item::Fn(_) => "fn",
        Item::ForeignMod(_) => "extern block",
        Item::Impl(_) => "impl",
        Item::Macro(m) if m.mac.path.is_ident("macro_rules") => "macro",
        Item::Macro(_) => "macro call",
        Item::Mod(_) => "mod",
        Item::Static(_) => "static",
        Item::Struct(_) => "struct",
        Item::Trait(_) => "trait",
        Item::TraitAlias(_) => "trait alias",
        Item::Type(_) => "type",
        Item::Union(_) => "union",
        Item::Use(_) => "use",
        _ => "item",
    }
}

fn item_name(item: &Item) -> String {
    let ident = match item {
        Item::Const(i) => Some(&i.ident),
        Item::Enum(i) => Some(&i.ident),
        Item::ExternCrate(i) => Some(&i.ident),
        Item::Fn(i) => Some(&i.sig.ident),
        Item::Macro(i) => i.ident.as_ref(),
        Item::Mod(i) => Some(&i.ident),
        Item::Static(i) => Some(&i.ident),
        Item::Struct(i) => Some(&i.ident),
        Item::Trait(i) => Some(&i.ident),
        Item::TraitAlias(i) => Some(&i.ident),
        Item::Type(i) => Some(&i.ident),
        Item::Union(i) => Some(&i.ident),
        _ => None,
    };
    match (ident, item) {
        (Some(ident), _) => ident.to_string(),
        (None, Item::Use(u)) => compact(&u.tree.to_token_stream().to_string()),
        (None, Item::Macro(m)) => compact(&m.mac.path.to_token_stream().to_string()),
        _ => String::new(),
    }
}

fn is_public(item: &Item) -> bool {
    let vis = match item {
        Item::Const(i) => &i.vis,
        Item::Enum(i) => &i.vis,
        Item::Fn(i) => &i.vis,
        Item::Mod(i) => &i.vis,
        Item::Static(i) => &i.vis,
        Item::Struct(i) => &i.vis,
        Item::Trait(i) => &i.vis,
        Item::Type(i) => &i.vis,
        Item::Union(i) => &i.vis,
        Item::Use(i) => &i.vis,
        Item::Macro(m) => {
            return m.attrs.iter().any(|a| a.path().is_ident("macro_export"));
        }
        _ => return false,
    };
    matches!(vis, Visibility::Public(_))
}

fn impl_label(imp: &syn::ItemImpl) -> String {
    let self_ty = compact(&imp.self_ty.to_token_stream().to_string());
    match &imp.trait_ {
        Some((bang, path, _)) => format!(
            "impl {}{} for {self_ty}",
            if bang.is_some() { "!" } else { "" },
            compact(&path.to_token_stream().to_string())
        ),
        None => format!("impl {self_ty}"),
    }
}

/// `MemoryStorage` for `impl Storage for MemoryStorage`, `Wrapper` for `Wrapper<T>`.
fn self_type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        other => compact(&other.to_token_stream().to_string()),
    }
}

fn trait_item_label(item: &TraitItem) -> String {
    match item {
        TraitItem::Fn(f) => format!("method {}", f.sig.ident),
        TraitItem::Const(c) => format!("const {}", c.ident),
        TraitItem::Type(t) => format!("type {}", t.ident),
        _ => "macro call".to_owned(),
    }
}

fn impl_item_label(item: &ImplItem) -> String {
    match item {
        ImplItem::Fn(f) => format!("fn {}", f.sig.ident),
        ImplItem::Const(c) => format!("const {}", c.ident),
        ImplItem::Type(t) => format!("type {}", t.ident),
        _ => "macro call".to_owned(),
    }
}

/// `Vec < T >` → `Vec<T>`: token strings made readable for messages.
fn compact(text: &str) -> String {
    text.replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" :: ", "::")
        .replace(" ,", ",")
        .replace("& ", "&")
}
