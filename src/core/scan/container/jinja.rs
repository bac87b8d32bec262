//! Jinja templates (the chat templates of GGUF files and tokenizer configurations): does
//! the template reach Python internals?
//!
//! Real chat templates (ChatML, Llama 3, Mistral, Qwen, tool-calling ones) only index
//! messages (`message['role']`), test and loop, concatenate strings and call a few helpers
//! (`raise_exception`, `strftime_now`, `namespace`, filters such as `trim` or `tojson`). A
//! template that escapes to Python walks attributes from some object to a module
//! (`cycler.__init__.__globals__.os.popen(...)`, `''.__class__.__mro__[1].__subclasses__()`,
//! `self._TemplateReference__context`), and transformers' sandbox is the only thing that
//! stands in its way; llama.cpp's and other engines' own Jinja implementations differ.
//!
//! The code parts of the template (`{{ ... }}` and `{% ... %}`; text, `{# comments #}` and
//! `{% raw %}` blocks are output, not code) are split into tokens like Jinja's lexer does,
//! string literals decoded (so `'\x5f\x5fclass\x5f\x5f'` reads `__class__`), and then
//! `Dangerous`:
//!
//! * a name with `__` in it (`__class__`, `__globals__`, `__subclasses__`, `__builtins__`,
//!   `__import__`, `__init__`, mangled private names), an attribute starting with `_`;
//! * a name that only an escape has use for: `os`, `subprocess`, `popen`, `eval`, `exec`,
//!   `import`, `mro`, `globals`, `builtins`, `getattr`, `importlib`, frame and code
//!   attributes, and `.system(...)` / `.open(...)` called as attributes;
//! * the `attr` filter (it looks attributes up by a computed name);
//! * a string literal that is a name with `__` in it (`x['__class__']`,
//!   `map(attribute='__class__')`), a lone `'_'` joined with `~` or `+`, string literals
//!   of one tag that together spell a dunder name (`'_' ~ '_class_' ~ '_'`,
//!   `['__cla', 'ss__']|join`), and `'%c'` strings given to `format` or `%` (characters
//!   built from numbers);
//! * `{% import %}` and `{% from ... import %}`.
//!
//! `{% include %}` and `{% extends %}` load other templates: `Unknown`. A template the
//! lexer cannot read (a tag or string that never ends) is `Unknown` too: engines differ on
//! such input. Limits of the method: it reads names, it does not evaluate; a name built at
//! run time from pieces no rule above sees (characters taken out of the text of some
//! object, for instance) would pass, which is why the rules err on the side of naming
//! anything unusual.

use std::collections::BTreeSet;

use serde_json::Value;

use super::keras::Issue;
use crate::core::scan::Severity;

/// Templates longer than this are not read (real ones are a few KiB).
pub(crate) const MAX_TEMPLATE: usize = 1 << 20;
/// Reasons listed in one finding.
const MAX_REASONS: usize = 8;

/// One conclusion about a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub severity: Severity,
    pub message: String,
}

const BAD_NAMES: &[&str] = &[
    "os",
    "subprocess",
    "popen",
    "eval",
    "exec",
    "import",
    "mro",
    "globals",
    "builtins",
    "getattr",
    "setattr",
    "delattr",
    "compile",
    "subclasses",
    "importlib",
    "func_globals",
    "func_code",
    "f_globals",
    "f_locals",
    "f_back",
    "f_builtins",
    "gi_frame",
    "gi_code",
    "cr_frame",
    "tb_frame",
    "co_code",
];
/// Attributes that are an escape only when called (`ns.system` may be a template's own
/// namespace field; `x.system('id')` is `os.system`).
const BAD_CALLS: &[&str] = &[
    "system",
    "open",
    "load_module",
    "get_data",
    "check_output",
    "spawnv",
    "execv",
    "fork",
];
const DUNDERS: &[&str] = &[
    "__class__",
    "__globals__",
    "__subclasses__",
    "__builtins__",
    "__import__",
    "__init__",
    "__mro__",
    "__base__",
    "__bases__",
    "__dict__",
    "__getattribute__",
    "__reduce__",
    "__code__",
    "__self__",
    "__func__",
    "__loader__",
];

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    Name(&'a str),
    Str(String),
    Op(char),
    Other,
}

/// Conclusions about `t`: at most one `Dangerous` finding (its reasons listed), `Unknown`
/// ones, or nothing for a template that stays with data.
pub(crate) fn check(t: &str) -> Vec<Finding> {
    if t.len() > MAX_TEMPLATE {
        return vec![Finding {
            severity: Severity::Unknown,
            message: format!(
                "template of {} bytes, more than the {MAX_TEMPLATE} read: not checked",
                t.len()
            ),
        }];
    }
    let mut danger = BTreeSet::new();
    let mut unknown = BTreeSet::new();
    if let Err(why) = lex(t, &mut |stmt, toks| {
        judge(stmt, toks, &mut danger, &mut unknown)
    }) {
        unknown.insert(format!("cannot be read as Jinja ({why})"));
    }
    let mut out = Vec::new();
    if !danger.is_empty() {
        let list: Vec<_> = danger.iter().take(MAX_REASONS).cloned().collect();
        let more = danger.len().saturating_sub(MAX_REASONS);
        out.push(Finding {
            severity: Severity::Dangerous,
            message: format!(
                "reaches Python internals, the way template injections run code: {}{}",
                list.join("; "),
                if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                }
            ),
        });
    }
    for u in unknown {
        out.push(Finding {
            severity: Severity::Unknown,
            message: u,
        });
    }
    out
}

/// Whether a JSON document is a tokenizer configuration with a chat template
/// (`tokenizer_config.json`: `chat_template` a string, or a list of `{name, template}`).
pub(crate) fn has_chat_template(v: &Value) -> bool {
    v.get("chat_template").is_some()
}

/// The chat templates of a tokenizer configuration, checked as in GGUF files
/// (`tokenizer.chat-template`); a `chat_template` of another shape is `Unknown`.
pub(crate) fn tokenizer_config(v: &Value) -> Vec<Issue> {
    let mut templates = Vec::new();
    let mut odd = false;
    match v.get("chat_template") {
        Some(Value::String(t)) => templates.push(("chat_template".to_string(), t.as_str())),
        Some(Value::Array(a)) => {
            for e in a {
                match (e.get("name").and_then(Value::as_str), e.get("template")) {
                    (Some(n), Some(Value::String(t))) => {
                        templates.push((format!("chat_template {n:?}"), t.as_str()))
                    }
                    _ => odd = true,
                }
            }
        }
        Some(Value::Null) => {}
        _ => odd = true,
    }
    let mut out = Vec::new();
    if odd {
        out.push(Issue {
            severity: Severity::Unknown,
            rule: "tokenizer.chat-template",
            global: None,
            message: "chat_template of a shape transformers does not write: not checked".into(),
        });
    }
    for (key, t) in &templates {
        for f in check(t) {
            out.push(Issue {
                severity: f.severity,
                rule: "tokenizer.chat-template",
                global: None,
                message: format!("{key}: {}", f.message),
            });
        }
    }
    out.push(Issue {
        severity: Severity::Info,
        rule: "tokenizer.checked",
        global: None,
        message: format!(
            "tokenizer configuration: {} chat templates checked",
            templates.len()
        ),
    });
    out
}

fn ident_like(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

fn judge(
    stmt: bool,
    toks: &[Tok<'_>],
    danger: &mut BTreeSet<String>,
    unknown: &mut BTreeSet<String>,
) {
    let op = |k: Option<usize>, c: char| k.and_then(|k| toks.get(k)) == Some(&Tok::Op(c));
    let mut strings = String::new();
    for (k, tok) in toks.iter().enumerate() {
        let prev = k.checked_sub(1);
        match tok {
            Tok::Name(n) => {
                let first = stmt && k == 0;
                if n.contains("__") {
                    danger.insert(format!("`{n}`"));
                } else if op(prev, '.') && n.starts_with('_') {
                    danger.insert(format!("private attribute `.{n}`"));
                } else if BAD_NAMES.contains(n) {
                    danger.insert(format!("`{n}`"));
                } else if op(prev, '.') && BAD_CALLS.contains(n) && op(Some(k + 1), '(') {
                    danger.insert(format!("`.{n}(...)`"));
                } else if op(prev, '|') && *n == "attr" {
                    danger.insert("the `attr` filter (attribute lookup by a computed name)".into());
                } else if first && *n == "from" {
                    danger.insert("`{% from ... import %}`".into());
                } else if first && (*n == "include" || *n == "extends") {
                    unknown.insert(format!(
                        "`{{% {n} %}}` loads another template, which is not checked"
                    ));
                }
            }
            Tok::Str(s) => {
                strings.push_str(s);
                if ident_like(s) && s.contains("__") {
                    danger.insert(format!("string {s:?} (an internal name)"));
                } else if s == "_"
                    && (op(prev, '~')
                        || op(prev, '+')
                        || op(Some(k + 1), '~')
                        || op(Some(k + 1), '+'))
                {
                    danger.insert("string \"_\" joined into a name".into());
                }
                let formatted = op(Some(k + 1), '%')
                    || (op(Some(k + 1), '|') && toks.get(k + 2) == Some(&Tok::Name("format")));
                if s.contains("%c") && formatted {
                    danger.insert(format!("format {s:?} (characters built from numbers)"));
                }
            }
            Tok::Op(_) | Tok::Other => {}
        }
    }
    for d in DUNDERS {
        if strings.contains(d) {
            danger.insert(format!("strings that spell `{d}`"));
        }
    }
}

/// Splits `t` into its code tags; `f(is_statement, tokens)` for each.
fn lex<'a>(t: &'a str, f: &mut dyn FnMut(bool, &[Tok<'a>])) -> Result<(), String> {
    let b = t.as_bytes();
    let mut i = 0;
    while let Some(at) = find_open(b, i) {
        let kind = b[at + 1];
        let mut j = at + 2;
        match kind {
            b'#' => {
                let end = find(b, j, b"#}").ok_or("a comment never ends")?;
                i = end + 2;
            }
            _ => {
                if matches!(b.get(j), Some(b'-' | b'+')) {
                    j += 1;
                }
                let stmt = kind == b'%';
                if stmt && is_raw(b, j) {
                    i = end_raw(b, j).ok_or("a raw block never ends")?;
                    continue;
                }
                let (toks, end) = tokens(t, j, stmt)?;
                f(stmt, &toks);
                i = end;
            }
        }
    }
    Ok(())
}

fn find(b: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    memchr::memmem::find(&b[from.min(b.len())..], pat).map(|k| from + k)
}

fn find_open(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(k) = memchr::memchr(b'{', &b[i.min(b.len())..]) {
        let at = i + k;
        if matches!(b.get(at + 1), Some(b'{' | b'%' | b'#')) {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

fn skip_ws(b: &[u8], mut j: usize) -> usize {
    while b.get(j).is_some_and(|c| c.is_ascii_whitespace()) {
        j += 1;
    }
    j
}

/// `{% raw %}` (with optional whitespace control) starting at `j`, after `{%`.
fn is_raw(b: &[u8], j: usize) -> bool {
    let j = skip_ws(b, j);
    if !b[j.min(b.len())..].starts_with(b"raw") {
        return false;
    }
    let mut k = skip_ws(b, j + 3);
    if matches!(b.get(k), Some(b'-' | b'+')) {
        k += 1;
    }
    b[k.min(b.len())..].starts_with(b"%}")
}

/// Where the text after the `{% endraw %}` closing a raw block opened at `j` starts.
fn end_raw(b: &[u8], j: usize) -> Option<usize> {
    let mut i = find(b, j, b"%}")? + 2;
    loop {
        let at = find(b, i, b"{%")?;
        let mut k = at + 2;
        if matches!(b.get(k), Some(b'-' | b'+')) {
            k += 1;
        }
        k = skip_ws(b, k);
        if b[k.min(b.len())..].starts_with(b"endraw") {
            return Some(find(b, k, b"%}")? + 2);
        }
        i = at + 2;
    }
}

/// The tokens of a tag whose code starts at `j`; the position after its end.
fn tokens(t: &str, mut j: usize, stmt: bool) -> Result<(Vec<Tok<'_>>, usize), String> {
    let b = t.as_bytes();
    let close = if stmt { b'%' } else { b'}' };
    let mut toks = Vec::new();
    let mut depth = 0usize;
    loop {
        j = skip_ws(b, j);
        let Some(&c) = b.get(j) else {
            return Err(if stmt {
                "a `{%` tag never ends".into()
            } else {
                "a `{{` tag never ends".into()
            });
        };
        if depth == 0 && c == close && b.get(j + 1) == Some(&b'}') {
            return Ok((toks, j + 2));
        }
        if c == b'_' || c.is_ascii_alphabetic() {
            let s = j;
            while b
                .get(j)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                j += 1;
            }
            toks.push(Tok::Name(&t[s..j]));
        } else if c.is_ascii_digit() {
            while b
                .get(j)
                .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.'))
            {
                j += 1;
            }
            toks.push(Tok::Other);
        } else if c == b'\'' || c == b'"' {
            let (s, end) = string(t, j)?;
            toks.push(Tok::Str(s));
            j = end;
        } else {
            match c {
                b'{' | b'(' | b'[' => depth += 1,
                b'}' | b')' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
            // Multi-byte UTF-8 outside strings is not Jinja syntax, but step over it whole.
            let len = t[j..].chars().next().map_or(1, char::len_utf8);
            toks.push(if len == 1 {
                Tok::Op(c as char)
            } else {
                Tok::Other
            });
            j += len;
        }
    }
}

/// The decoded string literal starting at `j` (a quote); the position after it.
fn string(t: &str, j: usize) -> Result<(String, usize), String> {
    let b = t.as_bytes();
    let q = b[j];
    let mut out = String::new();
    let mut k = j + 1;
    loop {
        let Some(&c) = b.get(k) else {
            return Err("a string never ends".into());
        };
        if c == q {
            return Ok((out, k + 1));
        }
        if c != b'\\' {
            let ch = t[k..].chars().next().unwrap_or('\u{fffd}');
            out.push(ch);
            k += ch.len_utf8();
            continue;
        }
        let Some(&e) = b.get(k + 1) else {
            return Err("a string never ends".into());
        };
        k += 2;
        let hex = |n: usize, k: &mut usize| -> Option<char> {
            let s = t.get(*k..*k + n)?;
            let v = u32::from_str_radix(s, 16).ok()?;
            *k += n;
            char::from_u32(v)
        };
        match e {
            b'n' => out.push('\n'),
            b't' => out.push('\t'),
            b'r' => out.push('\r'),
            b'x' => out.push(hex(2, &mut k).unwrap_or('\u{fffd}')),
            b'u' => out.push(hex(4, &mut k).unwrap_or('\u{fffd}')),
            b'U' => out.push(hex(8, &mut k).unwrap_or('\u{fffd}')),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match b.get(k) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            k += 1;
                        }
                        _ => break,
                    }
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            b'\\' | b'\'' | b'"' => out.push(e as char),
            _ => {
                out.push('\\');
                k -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worst(t: &str) -> Severity {
        check(t)
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Info)
    }

    const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    const LLAMA3: &str = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
    const MISTRAL: &str = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";
    /// Llama 3.1's tool-calling template (shortened): namespace, tojson, strftime_now,
    /// `is defined`, filters with arguments, whitespace control, dicts and comments.
    const LLAMA31_TOOLS: &str = r#"{{- bos_token }}
{#- This block extracts the system message #}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(found=false, system={'role': 'system'}) %}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\n\n"}}
{%- endif %}
{%- for t in tools %}
    {{- t | tojson(indent=4) }}
{%- endfor %}
{%- for message in messages %}
    {%- if message.role == 'ipython' or message.role == 'tool' %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- tools | map(attribute='function') | selectattr('name', 'equalto', 'x') | list | length }}
    {%- endif %}
{%- endfor %}
{%- raw %}{{ __class__ }}{% endraw %}
{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}"#;

    /// Qwen 2.5's tool-calling structure: `tojson`, `loop.first`/`loop.last`, indexing by
    /// `loop.index0 - 1`, JSON text inside strings, double-quoted strings.
    const QWEN25_TOOLS: &str = r#"{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}{%- else %}{{- 'You are a helpful assistant.' }}{%- endif %}
    {{- "\n\n# Tools\n\n<tools>" }}
    {%- for tool in tools %}{{- "\n" }}{{- tool | tojson }}{%- endfor %}
    {{- "\n</tools>\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}{{- tool_call.name }}{{- '", "arguments": ' }}{{- tool_call.arguments | tojson }}{{- '}\n</tool_call>' }}
        {%- endfor %}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}{{- '<|im_start|>user' }}{%- endif %}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}{{- '<|im_end|>\n' }}{%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}"#;

    #[test]
    fn real_templates_are_fine() {
        for t in [
            CHATML,
            LLAMA3,
            MISTRAL,
            LLAMA31_TOOLS,
            QWEN25_TOOLS,
            "plain text { not a tag }",
            "",
            "{{ 'call_' ~ loop.index }}{{ 'tool_' + name }}",
            "{% set ns = namespace(system='') %}{{ ns.system }}",
            "{% set sys = messages[0] %}{{ sys['content'] }}",
            "{{ strftime_now('%c') }}",
            "{{ '<__media__>' }}",
        ] {
            assert_eq!(check(t), vec![], "{t}");
        }
    }

    #[test]
    fn escapes_are_dangerous() {
        for t in [
            "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            "{{ self._TemplateReference__context }}",
            "{{ x|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
            "{{ x|attr(name) }}",
            "{{ x['__globals__'] }}",
            "{{ x[('_' ~ '_class_' ~ '_')] }}",
            "{{ ['__cla', 'ss__']|join }}",
            "{{ tools|map(attribute='__class__')|list }}",
            "{{ ('%c%c'|format(95, 95)) }}",
            "{% set y = namespace() %}{{ y.__init__ }}",
            "{{ lipsum.__globals__['os'].popen('id').read() }}",
            "{{ joiner.__init__.__globals__ }}",
            "{% import 'x.j2' as x %}",
            "{% from 'x.j2' import y %}",
            "{{ request.application.__self__._get_data_for_json }}",
            "{{ messages.pop.__self__ }}",
            "{{ x.system('id') }}",
            "{{ eval('1') }}",
            "text {{- m['content'] -}} {%- if x.__class__ -%}{% endif %}",
        ] {
            let f = check(t);
            assert_eq!(worst(t), Severity::Dangerous, "{t}: {f:?}");
            assert_eq!(f[0].severity, Severity::Dangerous);
        }
    }

    #[test]
    fn unreadable_and_includes_are_unknown() {
        for t in [
            "{{ message['content'] ",
            "{% for m in messages %}{{ 'never ends }}",
            "{# comment",
            "{% raw %} never closed",
            "{% include 'other.j2' %}",
            "{% extends 'base.j2' %}",
        ] {
            assert_eq!(worst(t), Severity::Unknown, "{t}");
        }
        assert_eq!(worst(&"a".repeat(MAX_TEMPLATE + 1)), Severity::Unknown);
    }

    #[test]
    fn tokenizer_configs() {
        use serde_json::json;
        let rules = |v: Value| -> Vec<(&'static str, Severity)> {
            tokenizer_config(&v)
                .iter()
                .map(|i| (i.rule, i.severity))
                .collect()
        };
        assert_eq!(
            rules(json!({"chat_template": CHATML, "eos_token": "</s>"})),
            vec![("tokenizer.checked", Severity::Info)]
        );
        assert_eq!(
            rules(
                json!({"chat_template": [{"name": "default", "template": CHATML},
                {"name": "rag", "template": "{{ self.__init__.__globals__ }}"}]})
            ),
            vec![
                ("tokenizer.chat-template", Severity::Dangerous),
                ("tokenizer.checked", Severity::Info)
            ]
        );
        assert_eq!(
            rules(json!({"chat_template": 5}))[0],
            ("tokenizer.chat-template", Severity::Unknown)
        );
    }

    #[test]
    fn hostile_bytes_never_panic() {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let alphabet = "{}%#-'\"\\x_ab.|~()[]é\n";
        let chars: Vec<char> = alphabet.chars().collect();
        for _ in 0..2000 {
            let mut t = String::new();
            for _ in 0..40 {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                t.push(chars[(s % chars.len() as u64) as usize]);
            }
            let _ = check(&t);
        }
    }
}
