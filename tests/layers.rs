//! The layer rule of `ARCHITECTURE.md`: a module of `src/` refers only to modules of lower
//! layers (`crate::…` paths in `use` declarations, expressions, types and visibilities), so the
//! crate has no module cycle. The layers are read from the `layers` block of
//! `ARCHITECTURE.md`, which is therefore the one place that states them.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Names the crate root re-exports, and the module each comes from.
const ROOT_REEXPORTS: [(&str, &str); 3] =
    [("Error", "error"), ("Result", "error"), ("Isa", "arch")];

/// The layer of each top-level module, from the first ```text block after the heading
/// `## Layers` of `ARCHITECTURE.md`: one line per layer, its number then its modules.
fn layers(architecture: &str) -> BTreeMap<String, u32> {
    let after = architecture
        .split_once("## Layers")
        .expect("ARCHITECTURE.md has a `## Layers` section")
        .1;
    let block = after
        .split_once("```text\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("the Layers section has a ```text block")
        .0;
    let mut map = BTreeMap::new();
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let mut words = line.split_whitespace();
        let layer: u32 = words
            .next()
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("layer line {line:?} starts with its number"));
        for module in words {
            assert!(
                map.insert(module.to_string(), layer).is_none(),
                "module {module} is in two layers"
            );
        }
    }
    map
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments (line, doc and block comments) and without the
/// contents of its string literals, so that doc links and messages do not count as references.
fn code_of(text: &str) -> String {
    let mut code = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let skip = if rest.starts_with("//") {
            rest.find('\n').unwrap_or(rest.len())
        } else if rest.starts_with("/*") {
            rest.find("*/").map_or(rest.len(), |e| e + 2)
        } else if rest.starts_with("'\"'") {
            3 // the character literal of a double quote
        } else if c == '"' {
            // A string literal: up to the closing quote that no backslash escapes.
            let mut chars = rest.char_indices().skip(1);
            let mut end = rest.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    _ => {}
                }
            }
            code.push_str("\"\"");
            end
        } else {
            code.push(c);
            c.len_utf8()
        };
        rest = &rest[skip..];
    }
    code
}

/// The first path segment of every `crate::…` path in `code`; for `crate::{a, b::c}` the
/// segments `a` and `b`.
fn crate_references(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    for (at, _) in code.match_indices("crate::") {
        if code[..at].ends_with(is_ident) {
            continue; // `some_crate::`
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The top-level names of the group, up to its closing brace.
            let mut depth = 0usize;
            let mut names = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    _ if depth == 0 => names.push(c),
                    _ => {}
                }
            }
            for item in names.split(',') {
                let head: String = item.trim().chars().take_while(|c| is_ident(*c)).collect();
                if !head.is_empty() && head != "self" {
                    found.push(head);
                }
            }
        } else {
            let head: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            found.push(head);
        }
    }
    found
}

#[test]
fn no_module_refers_to_a_layer_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let architecture = fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let layers = layers(&architecture);
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();

    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.iter().next().unwrap().to_str().unwrap();
        let module = first.strip_suffix(".rs").unwrap_or(first);
        if module == "lib" {
            continue; // the root declares and re-exports every module
        }
        let Some(&own) = layers.get(module) else {
            violations.push(format!("src/{module}: not in any layer of ARCHITECTURE.md"));
            continue;
        };
        let code = code_of(&fs::read_to_string(file).unwrap());
        for name in crate_references(&code) {
            let target = ROOT_REEXPORTS
                .iter()
                .find(|(item, _)| *item == name)
                .map_or(name.as_str(), |(_, from)| *from);
            if target == module {
                continue;
            }
            match layers.get(target) {
                Some(&layer) if layer < own => {}
                Some(&layer) => violations.push(format!(
                    "{}: `crate::{name}` (layer {layer}) from {module} (layer {own})",
                    relative.display()
                )),
                None => violations.push(format!(
                    "{}: `crate::{name}` is in no layer of ARCHITECTURE.md",
                    relative.display()
                )),
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layer violations:\n{}",
        violations.join("\n")
    );
}

/// Files outside `src/arch/` and `src/gemm/x86/` that may name an architecture: the products'
/// declaration of and dispatch to their x86 kernels, and the re-export of the AVX2 lanes.
const ARCH_ALLOWED: [&str; 2] = ["gemm/mod.rs", "simd/mod.rs"];

#[test]
fn architecture_specific_code_stays_in_arch_and_the_gemm_kernels() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for file in &files {
        let relative = file
            .strip_prefix(&src)
            .unwrap()
            .to_str()
            .unwrap()
            .replace('\\', "/");
        if relative.starts_with("arch/")
            || relative.starts_with("gemm/x86/")
            || ARCH_ALLOWED.contains(&relative.as_str())
        {
            continue;
        }
        let code = code_of(&fs::read_to_string(file).unwrap());
        for needle in ["target_arch", "core::arch", "asm!", "target_feature"] {
            if code.contains(needle) {
                found.push(format!("src/{relative}: `{needle}`"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "architecture-specific code outside arch/:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_parser_sees_grouped_and_plain_paths_but_not_comments() {
    let code = code_of(
        "use crate::{simd::{self, Lanes}, error::check_len, Result};\n\
         // crate::train in a comment\n\
         /// [link](crate::network)\n\
         let s = (\"crate::quoted \\\" crate::escaped\", '\"');\n\
         fn f() -> crate::gemm::Dims { my_crate::x }\n\
         pub(in crate::norm) struct S;",
    );
    assert_eq!(
        crate_references(&code),
        ["simd", "error", "Result", "gemm", "norm"]
    );
    let layers = layers("## Layers\n\n```text\n0  error rows\n1  arch\n```\n");
    assert_eq!(layers["rows"], 0);
    assert_eq!(layers["arch"], 1);
}
