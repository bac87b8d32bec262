//! Pickles built opcode by opcode: every way of naming and calling a global the reader
//! must see through, the stream kinds, broken and hostile input.

use std::sync::OnceLock;

use super::value::live_objects;
use super::*;

// ---------------------------------------------------------------------------------------
// Building pickles

pub(super) mod op {
    pub const MARK: &[u8] = b"(";
    pub const STOP: &[u8] = b".";
    pub const POP: &[u8] = b"0";
    pub const TUPLE: &[u8] = b"t";
    pub const EMPTY_TUPLE: &[u8] = b")";
    pub const EMPTY_DICT: &[u8] = b"}";
    pub const EMPTY_LIST: &[u8] = b"]";
    pub const APPEND: &[u8] = b"a";
    pub const SETITEM: &[u8] = b"s";
    pub const SETITEMS: &[u8] = b"u";
    pub const REDUCE: &[u8] = b"R";
    pub const BUILD: &[u8] = b"b";
    pub const OBJ: &[u8] = b"o";
    pub const NEWOBJ: &[u8] = b"\x81";
    pub const NEWOBJ_EX: &[u8] = b"\x92";
    pub const STACK_GLOBAL: &[u8] = b"\x93";
    pub const MEMOIZE: &[u8] = b"\x94";
    pub const BINPERSID: &[u8] = b"Q";
    pub const NONE: &[u8] = b"N";
    pub const NEWTRUE: &[u8] = b"\x88";
    pub const TUPLE1: &[u8] = b"\x85";
    pub const TUPLE2: &[u8] = b"\x86";
}
use op::*;

pub(super) fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

pub(super) fn proto(n: u8) -> Vec<u8> {
    vec![0x80, n]
}

pub(super) fn global(module: &str, name: &str) -> Vec<u8> {
    format!("c{module}\n{name}\n").into_bytes()
}

pub(super) fn sbu(s: &str) -> Vec<u8> {
    let mut v = vec![0x8c, s.len() as u8];
    v.extend(s.as_bytes());
    v
}

pub(super) fn bu(s: &str) -> Vec<u8> {
    let mut v = b"X".to_vec();
    v.extend((s.len() as u32).to_le_bytes());
    v.extend(s.as_bytes());
    v
}

pub(super) fn stack_global(module: &str, name: &str) -> Vec<u8> {
    cat(&[&sbu(module), &sbu(name), STACK_GLOBAL])
}

pub(super) fn int(n: u8) -> Vec<u8> {
    vec![b'K', n]
}

/// `f(*args)`: `f`, a MARK tuple of `args`, REDUCE.
pub(super) fn call(f: &[u8], args: &[&[u8]]) -> Vec<u8> {
    let mut v = f.to_vec();
    v.extend(MARK);
    for a in args {
        v.extend(*a);
    }
    v.extend(TUPLE);
    v.extend(REDUCE);
    v
}

/// A whole protocol `p` pickle of `body`.
pub(super) fn pickle(p: u8, body: &[u8]) -> Vec<u8> {
    cat(&[&proto(p), body, STOP])
}

fn os_system(p: u8) -> Vec<u8> {
    pickle(p, &call(&stack_global("os", "system"), &[&sbu("true")]))
}

// ---------------------------------------------------------------------------------------
// Reading them

pub(super) fn policy() -> &'static Policy {
    static P: OnceLock<Policy> = OnceLock::new();
    P.get_or_init(Policy::new)
}

pub(super) fn scan(data: &[u8]) -> PickleScan {
    scan_pickles(
        data,
        policy(),
        &Limits::default(),
        &Location::default(),
        None,
    )
}

pub(super) fn scan_kind(data: &[u8], kind: &'static str, max: Option<usize>) -> Vec<Finding> {
    let s = Stream {
        data,
        location: Location::default(),
        max_pickles: max,
        kind,
        storages: None,
    };
    scan_stream(&s, policy(), &Limits::default())
}

pub(super) fn rules(f: &[Finding]) -> Vec<&'static str> {
    f.iter().map(|f| f.rule).collect()
}

pub(super) fn worst(f: &[Finding]) -> Severity {
    f.iter().map(|f| f.severity).max().unwrap_or(Severity::Info)
}

/// A finding of `rule` about `global` exists.
pub(super) fn has(f: &[Finding], rule: &str, global: &str) -> bool {
    f.iter()
        .any(|f| f.rule == rule && f.global.as_deref() == Some(global))
}

#[track_caller]
fn assert_flags(data: &[u8], rule: &str, global: &str) -> PickleScan {
    let s = scan(data);
    assert!(
        has(&s.findings, rule, global),
        "expected {rule} on {global}, got {:#?}",
        s.findings
    );
    assert!(!s.safe());
    s
}

#[track_caller]
fn assert_safe(data: &[u8]) -> PickleScan {
    let s = scan(data);
    assert!(s.safe(), "expected safe, got {:#?}", s.findings);
    s
}

// ---------------------------------------------------------------------------------------
// Every way to call os.system

#[test]
fn global_and_reduce() {
    let s = assert_flags(
        &pickle(2, &call(&global("os", "system"), &[&bu("true")])),
        "pickle.dangerous-global",
        "os.system",
    );
    let g = &s.globals[0];
    assert_eq!((g.module.as_str(), g.name.as_str()), ("os", "system"));
    assert_eq!(g.how, NamedBy::Global);
    assert_eq!(g.called_by, vec!["REDUCE"]);
    assert_eq!(g.offset, 2);
    assert!(matches!(g.verdict, Verdict::Dangerous(_)));
    let f = &s.findings[0];
    assert_eq!(f.severity, Severity::Dangerous);
    assert_eq!(f.location.offset, Some(2));
    assert!(f.message.contains("GLOBAL"), "{}", f.message);
}

#[test]
fn stack_global_at_every_protocol() {
    for p in 2..=5 {
        let s = assert_flags(&os_system(p), "pickle.dangerous-global", "os.system");
        assert_eq!(s.globals[0].how, NamedBy::StackGlobal);
        assert_eq!(s.pickles, 1);
    }
}

#[test]
fn protocol_0_text_form() {
    let s = assert_flags(
        b"cos\nsystem\np0\n(Vtrue\np1\ntp2\nRp3\n.",
        "pickle.dangerous-global",
        "os.system",
    );
    assert_eq!(s.globals[0].called_by, vec!["REDUCE"]);
}

#[test]
fn inst_obj_newobj_newobj_ex() {
    let inst = cat(&[MARK, &bu("true"), b"ios\nsystem\n", STOP]);
    let s = assert_flags(&inst, "pickle.dangerous-global", "os.system");
    assert_eq!(s.globals[0].how, NamedBy::Inst);
    assert_eq!(s.globals[0].called_by, vec!["INST"]);

    // Without a MARK: the C unpickler fails first, Python's (joblib's) imports first.
    let no_mark = cat(&[b"ios\nsystem\n", STOP]);
    assert_eq!(rules(&scan(&no_mark).findings), vec!["pickle.invalid"]);
    let f = scan_kind(&no_mark, kind::JOBLIB, None);
    assert!(has(&f, "pickle.dangerous-global", "os.system"), "{f:#?}");

    let obj = cat(&[MARK, &global("os", "system"), &bu("true"), OBJ, STOP]);
    let s = assert_flags(&obj, "pickle.dangerous-global", "os.system");
    assert_eq!(s.globals[0].called_by, vec!["OBJ"]);

    let newobj = pickle(
        2,
        &cat(&[
            &global("subprocess", "Popen"),
            MARK,
            &bu("true"),
            TUPLE,
            NEWOBJ,
        ]),
    );
    let s = assert_flags(&newobj, "pickle.dangerous-global", "subprocess.Popen");
    assert_eq!(s.globals[0].called_by, vec!["NEWOBJ"]);

    let newobj_ex = pickle(
        4,
        &cat(&[
            &stack_global("subprocess", "check_output"),
            MARK,
            &sbu("true"),
            TUPLE,
            EMPTY_DICT,
            NEWOBJ_EX,
        ]),
    );
    let s = assert_flags(
        &newobj_ex,
        "pickle.dangerous-global",
        "subprocess.check_output",
    );
    assert_eq!(s.globals[0].called_by, vec!["NEWOBJ_EX"]);
}

#[test]
fn names_from_every_string_opcode() {
    // (module, name) spelled by each string opcode, escapes included.
    let spellings: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"S'os'\n".to_vec(), b"S\"sys\\x74em\"\n".to_vec()),
        (b"S'\\157s'\n".to_vec(), b"S'system'\n".to_vec()),
        (
            cat(&[b"T", &2u32.to_le_bytes(), b"os"]),
            cat(&[b"U", &[6], b"system"]),
        ),
        (b"V\\u006fs\n".to_vec(), b"Vsys\\U00000074em\n".to_vec()),
        (bu("os"), sbu("system")),
        (
            cat(&[b"\x8d", &2u64.to_le_bytes(), b"os"]),
            cat(&[b"\x8d", &6u64.to_le_bytes(), b"system"]),
        ),
    ];
    for (m, n) in spellings {
        let data = pickle(4, &call(&cat(&[&m, &n, STACK_GLOBAL]), &[&sbu("true")]));
        assert_flags(&data, "pickle.dangerous-global", "os.system");
    }
}

#[test]
fn names_through_every_memo_form() {
    // (put a, put b, get a, get b) for memo slots 7 and 8 (MEMOIZE: 0 and 1).
    let forms: [[&[u8]; 4]; 6] = [
        [b"p7\n", b"p8\n", b"g7\n", b"g8\n"],
        [b"q\x07", b"q\x08", b"h\x07", b"h\x08"],
        [
            b"r\x07\0\0\0",
            b"r\x08\0\0\0",
            b"j\x07\0\0\0",
            b"j\x08\0\0\0",
        ],
        [MEMOIZE, MEMOIZE, b"h\x00", b"j\x01\0\0\0"],
        [b"p7\n", b"r\x08\0\0\0", b"j\x07\0\0\0", b"g8\n"],
        [b"p07\n", b"p 8\n", b"g7\n", b"g008\n"],
    ];
    for [put_a, put_b, get_a, get_b] in forms {
        let body = cat(&[
            &sbu("os"),
            put_a,
            POP,
            &sbu("system"),
            put_b,
            POP,
            &sbu("padding"),
            POP,
            get_a,
            get_b,
            STACK_GLOBAL,
            MARK,
            &sbu("true"),
            TUPLE,
            REDUCE,
        ]);
        assert_flags(&pickle(4, &body), "pickle.dangerous-global", "os.system");
    }
}

#[test]
fn memo_slot_copied_to_another() {
    // memo[0] = "collections", memo[1] = "os", then memo[0] = memo[1].
    let body = cat(&[
        &sbu("collections"),
        b"q\x00",
        POP,
        &sbu("os"),
        b"q\x01",
        POP,
        b"h\x01",
        b"q\x00",
        POP,
        b"h\x00",
        &sbu("system"),
        STACK_GLOBAL,
        MARK,
        &sbu("true"),
        TUPLE,
        REDUCE,
    ]);
    assert_flags(&pickle(4, &body), "pickle.dangerous-global", "os.system");
}

#[test]
fn python2_builtins_eval_at_protocols_0_2_3() {
    let p0 = cat(&[b"c__builtin__\neval\n(V1+1\ntR", STOP]);
    assert_flags(&p0, "pickle.dangerous-global", "__builtin__.eval");
    for p in [2, 3] {
        let data = pickle(p, &call(&global("__builtin__", "eval"), &[&bu("1+1")]));
        assert_flags(&data, "pickle.dangerous-global", "__builtin__.eval");
    }
}

#[test]
fn dotted_walks() {
    let d = pickle(
        4,
        &call(
            &stack_global("numpy", "testing._private.utils.os.system"),
            &[&sbu("true")],
        ),
    );
    assert_flags(
        &d,
        "pickle.dangerous-global",
        "numpy.testing._private.utils.os.system",
    );
    let d = pickle(
        4,
        &call(&global("torch.serialization", "os.system"), &[&sbu("true")]),
    );
    assert_flags(
        &d,
        "pickle.dangerous-global",
        "torch.serialization.os.system",
    );
    let d = pickle(
        4,
        &call(&stack_global("logging", "os.system"), &[&sbu("true")]),
    );
    assert_flags(&d, "pickle.dangerous-global", "logging.os.system");
}

#[test]
fn sys_modules_written_through_a_walk() {
    let d = pickle(
        4,
        &cat(&[
            &stack_global("collections", "_sys.modules"),
            MARK,
            &sbu("marker"),
            NONE,
            SETITEMS,
        ]),
    );
    let s = assert_flags(&d, "pickle.dangerous-global", "collections._sys.modules");
    assert!(has(
        &s.findings,
        "pickle.build-global",
        "collections._sys.modules"
    ));
    assert!(s.globals[0].state_set);
    // One item with SETITEM into a dict reached by a computed name.
    let d = pickle(
        4,
        &cat(&[
            &call(
                &stack_global("builtins", "getattr"),
                &[&stack_global("collections", "_sys"), &sbu("modules")],
            ),
            &sbu("marker"),
            NONE,
            SETITEM,
        ]),
    );
    let s = assert_flags(&d, "pickle.build-global", "collections._sys.modules");
    assert!(has(
        &s.findings,
        "pickle.dynamic-global",
        "collections._sys.modules"
    ));
}

// ---------------------------------------------------------------------------------------
// Computed names

#[test]
fn getattr_of_import() {
    let d = pickle(
        4,
        &call(
            &call(
                &stack_global("builtins", "getattr"),
                &[
                    &call(&stack_global("builtins", "__import__"), &[&sbu("os")]),
                    &sbu("system"),
                ],
            ),
            &[&sbu("true")],
        ),
    );
    let s = assert_flags(&d, "pickle.dynamic-global", "os.system");
    assert!(has(
        &s.findings,
        "pickle.dangerous-global",
        "builtins.getattr"
    ));
    assert!(has(
        &s.findings,
        "pickle.dangerous-global",
        "builtins.__import__"
    ));
    let g = s
        .globals
        .iter()
        .find(|g| g.module == "os" && g.name == "system")
        .unwrap();
    assert_eq!(g.how, NamedBy::Call("builtins.getattr".into()));
    assert_eq!(g.called_by, vec!["REDUCE"]);
    // The import of `os` itself is a computed global too.
    assert!(s
        .globals
        .iter()
        .any(|g| g.module == "os" && g.name.is_empty()));
}

#[test]
fn import_primitives() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            call(
                &call(
                    &stack_global("builtins", "getattr"),
                    &[
                        &call(&stack_global("importlib", "import_module"), &[&sbu("os")]),
                        &sbu("system"),
                    ],
                ),
                &[&sbu("true")],
            ),
            "os.system",
        ),
        (
            call(
                &call(
                    &stack_global("pkgutil", "resolve_name"),
                    &[&sbu("os:system")],
                ),
                &[&sbu("true")],
            ),
            "os.system",
        ),
        (
            call(
                &call(
                    &stack_global("pydoc", "locate"),
                    &[&sbu("subprocess.getoutput")],
                ),
                &[&sbu("true")],
            ),
            "subprocess.getoutput",
        ),
        (
            call(
                &call(
                    &call(&stack_global("operator", "attrgetter"), &[&sbu("system")]),
                    &[&call(
                        &stack_global("builtins", "__import__"),
                        &[&sbu("os")],
                    )],
                ),
                &[&sbu("true")],
            ),
            "os.system",
        ),
        (
            call(
                &call(
                    &stack_global("_operator", "methodcaller"),
                    &[&sbu("system"), &sbu("true")],
                ),
                &[&call(
                    &stack_global("importlib", "import_module"),
                    &[&sbu("os")],
                )],
            ),
            "os.system",
        ),
        (
            call(
                &call(
                    &stack_global("numpy.core", "_ufunc_reconstruct"),
                    &[&sbu("os"), &sbu("system")],
                ),
                &[&sbu("true")],
            ),
            "os.system",
        ),
        (
            call(
                &call(
                    &stack_global("importlib", "import_module"),
                    &[&sbu(".path"), &sbu("os")],
                ),
                &[],
            ),
            "os.path",
        ),
    ];
    for (body, computed) in cases {
        let s = scan(&pickle(4, &body));
        assert!(
            has(&s.findings, "pickle.dynamic-global", computed),
            "{computed}: {:#?}",
            s.findings
        );
    }
}

#[test]
fn ufunc_reconstruct_of_a_numpy_ufunc_names_it() {
    let body = call(
        &stack_global("numpy._core", "_ufunc_reconstruct"),
        &[&sbu("numpy"), &sbu("add")],
    );
    let s = scan(&pickle(4, &body));
    assert!(s.globals.iter().any(|g| g.module == "numpy"
        && g.name == "add"
        && g.how == NamedBy::Call("numpy._core._ufunc_reconstruct".into())));
}

#[test]
fn marshal_code_object_called() {
    let code = cat(&[b"C\x04", b"\xe3\x00\x00\x00"]);
    let body = cat(&[
        &call(
            &stack_global("types", "FunctionType"),
            &[
                &call(&stack_global("marshal", "loads"), &[&code]),
                EMPTY_DICT,
            ],
        ),
        EMPTY_TUPLE,
        REDUCE,
    ]);
    let s = scan(&pickle(3, &body));
    assert!(has(&s.findings, "pickle.dangerous-global", "marshal.loads"));
    assert!(has(
        &s.findings,
        "pickle.dangerous-global",
        "types.FunctionType"
    ));
    // Calling the function built from the code object: a call nobody can resolve.
    assert!(rules(&s.findings).contains(&"pickle.dynamic-call"));
}

#[test]
fn computed_names_the_reader_cannot_follow() {
    // getattr with a name made by a call.
    let body = call(
        &stack_global("builtins", "getattr"),
        &[
            &stack_global("collections", "OrderedDict"),
            &call(&stack_global("builtins", "str"), &[&sbu("x")]),
        ],
    );
    let s = scan(&pickle(4, &body));
    assert!(
        rules(&s.findings).contains(&"pickle.dynamic-call"),
        "{:#?}",
        s.findings
    );

    // STACK_GLOBAL whose module is computed (str('os')).
    let body = cat(&[
        &call(&stack_global("builtins", "str"), &[&sbu("os")]),
        &sbu("system"),
        STACK_GLOBAL,
        MARK,
        &sbu("true"),
        TUPLE,
        REDUCE,
    ]);
    let s = scan(&pickle(4, &body));
    assert!(
        s.findings
            .iter()
            .any(|f| f.rule == "pickle.unknown-global" && f.message.contains("STACK_GLOBAL")),
        "{:#?}",
        s.findings
    );
    assert!(rules(&s.findings).contains(&"pickle.dynamic-call"));
    assert!(!s.safe());

    // STACK_GLOBAL on an int: the loader fails there.
    let s = scan(&pickle(4, &cat(&[&int(1), &sbu("x"), STACK_GLOBAL])));
    assert_eq!(rules(&s.findings), vec!["pickle.invalid"]);
}

#[test]
fn calling_results_of_allowed_calls_is_unresolved() {
    let body = cat(&[
        &call(&stack_global("collections", "OrderedDict"), &[]),
        EMPTY_TUPLE,
        REDUCE,
    ]);
    let s = scan(&pickle(4, &body));
    assert_eq!(rules(&s.findings), vec!["pickle.dynamic-call"]);
    assert_eq!(s.findings[0].severity, Severity::Unknown);
    assert!(s.findings[0].message.contains("REDUCE"));
}

#[test]
fn extension_codes() {
    for ext in [&b"\x82\x01"[..], b"\x83\x01\x02", b"\x84\x01\x00\x00\x00"] {
        let d = pickle(2, &call(ext, &[&bu("true")]));
        let s = scan(&d);
        assert_eq!(rules(&s.findings), vec!["pickle.extension-code"], "{ext:?}");
        assert_eq!(s.findings[0].severity, Severity::Unknown);
        assert!(matches!(s.globals[0].how, NamedBy::Ext(_)));
        assert_eq!(s.globals[0].called_by, vec!["REDUCE"]);
    }
    let s = scan(&pickle(2, b"\x82\x00"));
    assert_eq!(rules(&s.findings), vec!["pickle.invalid"]);
}

// ---------------------------------------------------------------------------------------
// BUILD and state

#[test]
fn build_on_a_dangerous_class_and_its_instance() {
    let on_class = pickle(
        2,
        &cat(&[
            &global("subprocess", "Popen"),
            EMPTY_DICT,
            MARK,
            &bu("x"),
            NONE,
            SETITEMS,
            BUILD,
        ]),
    );
    let s = assert_flags(&on_class, "pickle.build-global", "subprocess.Popen");
    assert!(s.globals[0].state_set);

    let on_instance = pickle(
        2,
        &cat(&[
            &global("subprocess", "Popen"),
            EMPTY_TUPLE,
            NEWOBJ,
            EMPTY_DICT,
            BUILD,
        ]),
    );
    assert_flags(&on_instance, "pickle.build-global", "subprocess.Popen");
}

#[test]
fn build_on_an_allowed_class_is_monkeypatching() {
    let d = pickle(
        2,
        &cat(&[
            &global("collections", "OrderedDict"),
            NONE,
            EMPTY_DICT,
            MARK,
            &bu("fromkeys"),
            NONE,
            SETITEMS,
            TUPLE2,
            BUILD,
        ]),
    );
    let s = assert_flags(&d, "pickle.build-global", "collections.OrderedDict");
    assert_eq!(worst(&s.findings), Severity::Dangerous);
}

#[test]
fn build_on_an_instance_of_an_allowed_class_is_fine() {
    let d = pickle(
        2,
        &cat(&[
            &global("collections", "OrderedDict"),
            EMPTY_TUPLE,
            REDUCE,
            EMPTY_DICT,
            BUILD,
            MARK,
            &bu("k"),
            &int(1),
            SETITEMS,
        ]),
    );
    let s = assert_safe(&d);
    assert!(s.globals[0].state_set);
}

// ---------------------------------------------------------------------------------------
// Several pickles, trailing bytes, broken pickles

#[test]
fn malicious_pickle_after_a_benign_one() {
    let benign = pickle(4, &cat(&[EMPTY_LIST, &int(1), APPEND]));
    let d = cat(&[&benign, &os_system(4)]);
    let s = assert_flags(&d, "pickle.dangerous-global", "os.system");
    assert_eq!(s.pickles, 2);
    // The offset of STACK_GLOBAL in the second pickle.
    assert_eq!(
        s.findings[0].location.offset,
        Some(benign.len() as u64 + 14)
    );
    assert_eq!(s.end, d.len() as u64);
    // At most one pickle: the second is not read.
    let one = scan_pickles(
        &d,
        policy(),
        &Limits::default(),
        &Location::default(),
        Some(1),
    );
    assert_eq!(rules(&one.findings), vec!["pickle.trailing-data"]);
    assert!(one.safe());
}

#[test]
fn trailing_bytes_that_are_not_a_pickle() {
    let benign = pickle(2, &int(7));
    let s = scan(&cat(&[&benign, b"\n\n\x00garbage"]));
    assert!(s.safe());
    assert_eq!(rules(&s.findings), vec!["pickle.trailing-data"]);
    assert_eq!(s.findings[0].severity, Severity::Info);
    assert_eq!(s.pickles, 1);
    assert_eq!(s.end, benign.len() as u64);
    // A second benign pickle is a pickle.
    let s = scan(&cat(&[&benign, &benign]));
    assert!(s.safe() && s.findings.is_empty() && s.pickles == 2);
}

#[test]
fn broken_second_pickle_naming_a_global() {
    let benign = pickle(2, &int(7));
    let broken = cat(&[&proto(2), &call(&global("os", "system"), &[&bu("true")])]);
    let s = scan(&cat(&[&benign, &broken]));
    assert!(has(&s.findings, "pickle.dangerous-global", "os.system"));
    assert!(rules(&s.findings).contains(&"pickle.truncated"));
}

#[test]
fn truncated_and_invalid() {
    let cut = cat(&[&proto(2), &call(&global("os", "system"), &[&bu("true")])]);
    let s = assert_flags(&cut, "pickle.dangerous-global", "os.system");
    assert!(rules(&s.findings).contains(&"pickle.truncated"));
    assert_eq!(s.pickles, 0);

    let broken = cat(&[&cut, b"\xff\xfe", STOP]);
    let s = assert_flags(&broken, "pickle.dangerous-global", "os.system");
    let inv = s
        .findings
        .iter()
        .find(|f| f.rule == "pickle.invalid")
        .unwrap();
    assert_eq!(inv.location.offset, Some(cut.len() as u64));
    assert!(inv.message.contains("0xff"));

    for bad in [
        &b""[..],
        b"\x80",
        b"\x80\x06N.",
        b"N",
        b".",
        b"0",
        b"(.",
        b"X\xff\xff\xff\xff",
        b"\x8d\xff\xff\xff\xff\xff\xff\xff\x7fabc",
        b"\x8e\xff\xff\xff\xff\xff\xff\xff\xff",
        b"T\xff\xff\xff\xffab",
        b"h\x05.",
        b"I1x\n.",
        b"Fnope\n.",
        b"S'unquoted\n.",
        b"Vbad\\u12\n.",
        b"cos\n",
        b"c\nsystem\n.",
        b"X\x02\x00\x00\x00\xff\xfe.",
        b"K\x01K\x02\x93.",
        b"(K\x01d.",
        b"}(K\x01u.",
        b"\x95\xff\x00\x00\x00\x00\x00\x00\x00N.",
    ] {
        let s = scan(bad);
        assert!(!s.safe(), "{bad:?}");
        assert!(
            rules(&s.findings)
                .iter()
                .all(|r| *r == "pickle.truncated" || *r == "pickle.invalid"),
            "{bad:?}: {:#?}",
            s.findings
        );
        assert_eq!(worst(&s.findings), Severity::Unknown, "{bad:?}");
    }
}

#[test]
fn stack_and_mark_discipline() {
    // POP pops a MARK when it is on top; items below a MARK cannot be popped.
    assert_safe(b"K\x01(0.");
    assert_safe(b"K\x01(0\x85.");
    assert!(!scan(b"K\x01(\x85.").safe());
    assert!(!scan(b"K\x01(2.").safe());
    assert_safe(b"K\x01(K\x021.");
    assert_safe(b"(K\x01K\x02l(K\x03e.");
}

// ---------------------------------------------------------------------------------------
// Stream kinds

fn storage_pid(kind_global: &[u8], key: &str) -> Vec<u8> {
    cat(&[
        MARK,
        &bu("storage"),
        kind_global,
        &bu(key),
        &bu("cpu"),
        &int(4),
        TUPLE,
        BINPERSID,
    ])
}

#[test]
fn torch_persistent_ids() {
    let tensor = call(
        &global("torch._utils", "_rebuild_tensor_v2"),
        &[
            &storage_pid(&global("torch", "FloatStorage"), "0"),
            &int(0),
            &cat(&[&int(4), TUPLE1]),
            &cat(&[&int(1), TUPLE1]),
            b"\x89",
            &call(&global("collections", "OrderedDict"), &[]),
        ],
    );
    let d = pickle(2, &tensor);
    let f = scan_kind(&d, kind::TORCH_ZIP, None);
    assert!(f.is_empty(), "{f:#?}");
    // A storage type that is not a storage type is classified like any global.
    let bad = pickle(2, &storage_pid(&global("os", "system"), "0"));
    let f = scan_kind(&bad, kind::TORCH_ZIP, None);
    assert!(has(&f, "pickle.dangerous-global", "os.system"));
    // In a plain pickle, a persistent id is refused by pickle.load: Info.
    let s = scan(&d);
    assert!(s.safe());
    assert!(rules(&s.findings).contains(&"pickle.persistent-id"));
}

#[test]
fn legacy_torch_module_ids_return_their_class() {
    // ('module', os.system, 'file', 'source') BINPERSID, then called.
    let pid = cat(&[
        MARK,
        &bu("module"),
        &global("os", "system"),
        &bu("f.py"),
        &bu("src"),
        TUPLE,
        BINPERSID,
    ]);
    // The storage keys ['0'], then storage '0': 4 elements of 4 bytes.
    let five = |obj: Vec<u8>| {
        cat(&[
            &pickle(2, &int(1)),
            &pickle(2, &int(2)),
            &pickle(2, EMPTY_DICT),
            &obj,
            &pickle(2, &cat(&[EMPTY_LIST, MARK, &bu("0"), b"e"])),
            &4u64.to_le_bytes(),
            b"sixteen raw byte",
        ])
    };
    let d = five(pickle(2, &cat(&[&pid, MARK, &bu("true"), TUPLE, REDUCE])));
    let f = scan_kind(&d, kind::TORCH_LEGACY, Some(5));
    assert!(has(&f, "pickle.dangerous-global", "os.system"));
    assert!(!rules(&f).contains(&"pickle.dynamic-call"), "{f:#?}");
    let benign = five(pickle(
        2,
        &storage_pid(&global("torch", "FloatStorage"), "0"),
    ));
    let f = scan_kind(&benign, kind::TORCH_LEGACY, Some(5));
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn npy_object_reads_one_pickle() {
    let d = cat(&[&pickle(2, &int(1)), &os_system(4)]);
    let f = scan_kind(&d, kind::NPY_OBJECT, Some(1));
    assert_eq!(rules(&f), vec!["pickle.trailing-data"]);
    let f = scan_kind(&os_system(4), kind::NPY_OBJECT, Some(1));
    assert!(has(&f, "pickle.dangerous-global", "os.system"));
}

// ---------------------------------------------------------------------------------------
// joblib

/// `numpy.dtype(code, False, True)` with BUILD state `(3, '<', None, None, None, elsize,
/// -1, flags)`.
fn dtype(code: &str, elsize: i8, flags: u8) -> Vec<u8> {
    cat(&[
        &call(
            &stack_global("numpy", "dtype"),
            &[&sbu(code), b"\x89", NEWTRUE],
        ),
        MARK,
        &int(3),
        &sbu("<"),
        NONE,
        NONE,
        NONE,
        b"J",
        &i32::from(elsize).to_le_bytes(),
        b"J\xff\xff\xff\xff",
        &int(flags),
        TUPLE,
        BUILD,
    ])
}

/// A NumpyArrayWrapper (NEWOBJ + BUILD) of `shape` and `dtype`, then its array bytes.
fn wrapper(shape: &[u8], dtype: &[u8], align: bool, array: &[u8]) -> Vec<u8> {
    let mut state = cat(&[
        EMPTY_DICT,
        MARK,
        &sbu("subclass"),
        &stack_global("numpy", "ndarray"),
        &sbu("shape"),
        shape,
        &sbu("order"),
        &sbu("C"),
        &sbu("dtype"),
        dtype,
        &sbu("allow_mmap"),
        NEWTRUE,
    ]);
    if align {
        state.extend(cat(&[&sbu("numpy_array_alignment_bytes"), &int(16)]));
    }
    state.extend(SETITEMS);
    cat(&[
        &stack_global("joblib.numpy_pickle", "NumpyArrayWrapper"),
        EMPTY_TUPLE,
        NEWOBJ,
        &state,
        BUILD,
        array,
    ])
}

fn shape(dims: &[u8]) -> Vec<u8> {
    let mut v = MARK.to_vec();
    for d in dims {
        v.extend(int(*d));
    }
    v.extend(TUPLE);
    v
}

#[test]
fn joblib_arrays_are_skipped() {
    let arr = [0xff_u8; 24]; // Not opcodes: a reader that does not skip them fails.
    let body = cat(&[
        EMPTY_LIST,
        &wrapper(&shape(&[3]), &dtype("f8", -1, 0), false, &arr),
        APPEND,
        &wrapper(
            &shape(&[2, 2]),
            &dtype("i4", -1, 0),
            true,
            &cat(&[&[3], &[0xff; 3], &[0u8; 16]]),
        ),
        APPEND,
    ]);
    let d = pickle(4, &body);
    let f = scan_kind(&d, kind::JOBLIB, None);
    assert!(f.is_empty(), "{f:#?}");
    // Read as a plain pickle, the array bytes are opcodes.
    assert!(!scan(&d).safe());
}

#[test]
fn malicious_pickle_after_joblib_arrays() {
    let arr = [0u8; 8];
    let in_same_pickle = pickle(
        4,
        &cat(&[
            &wrapper(&shape(&[1]), &dtype("f8", -1, 0), false, &arr),
            &call(&stack_global("os", "system"), &[&sbu("true")]),
        ]),
    );
    let f = scan_kind(&in_same_pickle, kind::JOBLIB, None);
    assert!(has(&f, "pickle.dangerous-global", "os.system"), "{f:#?}");
    let after = cat(&[
        &pickle(4, &wrapper(&shape(&[1]), &dtype("f8", -1, 0), false, &arr)),
        &os_system(4),
    ]);
    let f = scan_kind(&after, kind::JOBLIB, None);
    assert!(has(&f, "pickle.dangerous-global", "os.system"), "{f:#?}");
}

#[test]
fn joblib_array_bytes_hiding_a_pickle() {
    // The array bytes hold a malicious pickle: joblib reads them as numbers, never as a
    // pickle, so nothing runs.
    let hidden = os_system(4);
    let n = hidden.len() as u8;
    let d = pickle(
        4,
        &cat(&[
            &wrapper(&shape(&[n]), &dtype("u1", -1, 0), false, &hidden),
            POP,
            NONE,
        ]),
    );
    let f = scan_kind(&d, kind::JOBLIB, None);
    assert!(f.is_empty(), "{f:#?}");
    // Declare a shape of 0 and the same bytes are the rest of the pickle: they run.
    let d = pickle(
        4,
        &cat(&[
            &wrapper(
                &shape(&[0]),
                &dtype("u1", -1, 0),
                false,
                &hidden[..hidden.len() - 1],
            ),
            POP,
        ]),
    );
    let f = scan_kind(&d, kind::JOBLIB, None);
    assert!(has(&f, "pickle.dangerous-global", "os.system"), "{f:#?}");
}

#[test]
fn joblib_object_array_holds_a_nested_pickle() {
    let d = pickle(
        4,
        &wrapper(&shape(&[1]), &dtype("O8", -1, 63), false, &os_system(5)),
    );
    let f = scan_kind(&d, kind::JOBLIB, None);
    assert!(has(&f, "pickle.dangerous-global", "os.system"), "{f:#?}");
    let benign = pickle(
        4,
        &wrapper(
            &shape(&[1]),
            &dtype("O8", -1, 63),
            false,
            &pickle(5, &int(1)),
        ),
    );
    assert!(scan_kind(&benign, kind::JOBLIB, None).is_empty());
}

#[test]
fn joblib_wrappers_that_cannot_be_sized() {
    // A dtype code whose flags say no objects: numpy and the reader disagree on nothing
    // only if they match.
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            wrapper(&shape(&[1]), &dtype("O8", -1, 0), false, &[]),
            "pickle.joblib-unsizable",
        ),
        (
            wrapper(
                &call(&stack_global("builtins", "tuple"), &[]),
                &dtype("f8", -1, 0),
                false,
                &[],
            ),
            "pickle.joblib-unsizable",
        ),
        (
            wrapper(&shape(&[1]), &sbu("f8"), false, &[]),
            "pickle.joblib-unsizable",
        ),
        (
            wrapper(&shape(&[200]), &dtype("f8", -1, 0), false, &[0; 16]),
            "pickle.truncated",
        ),
        (
            wrapper(
                &cat(&[MARK, b"J\xff\xff\xff\xff", TUPLE]),
                &dtype("f8", -1, 0),
                false,
                &[],
            ),
            "pickle.invalid",
        ),
        (
            wrapper(&shape(&[1]), &dtype("S0", 0, 0), false, &[]),
            "pickle.invalid",
        ),
    ];
    for (body, rule) in cases {
        let f = scan_kind(&pickle(4, &body), kind::JOBLIB, None);
        assert!(rules(&f).contains(&rule), "{rule}: {f:#?}");
        assert!(worst(&f) >= Severity::Unknown);
    }
}

#[test]
fn joblib_frames_are_buffers() {
    // A FRAME holding the wrapper: the array starts after the frame, as joblib writes it.
    let w = wrapper(&shape(&[2]), &dtype("i2", -1, 0), false, b"");
    let framed = cat(&[
        &proto(4),
        b"\x95",
        &(w.len() as u64).to_le_bytes(),
        &w,
        &[0xaa; 4],
        STOP,
    ]);
    let f = scan_kind(&framed, kind::JOBLIB, None);
    assert!(f.is_empty(), "{f:#?}");
    // An opcode running past the end of its frame: Python's unpickler refuses it, C's
    // reads on or drops the rest of the frame depending on what it reads from.
    let straddle = cat(&[
        &proto(4),
        b"\x95\x03\x00\x00\x00\x00\x00\x00\x00",
        &sbu("abc"),
        STOP,
    ]);
    assert!(rules(&scan_kind(&straddle, kind::JOBLIB, None)).contains(&"pickle.invalid"));
    assert_eq!(rules(&scan(&straddle).findings), vec!["pickle.invalid"]);
    // The same with a text argument: `cos\nsy` in the frame, `stem\n` after it (the C
    // unpickler reading a BytesIO imports `os.stem`, `pickle.loads` `os.system`).
    let text = b"\x95\x06\x00\x00\x00\x00\x00\x00\x00cos\nsystem\n.";
    assert_eq!(rules(&scan(text).findings), vec!["pickle.invalid"]);
    // A frame before the last is used up.
    let early = b"\x95\x0b\x00\x00\x00\x00\x00\x00\x00N\x95\x01\x00\x00\x00\x00\x00\x00\x00..";
    assert_eq!(rules(&scan(early).findings), vec!["pickle.invalid"]);
    // STOP before the end of its frame.
    let stop = b"\x95\x03\x00\x00\x00\x00\x00\x00\x00N.Ncos\nsystem\n.";
    let s = scan(stop);
    assert_eq!(rules(&s.findings), vec!["pickle.invalid"]);
    assert_eq!((s.pickles, s.end), (1, 11));
    // Frames that end on opcode boundaries are read in order.
    assert_safe(b"\x95\x02\x00\x00\x00\x00\x00\x00\x00NN\x95\x01\x00\x00\x00\x00\x00\x00\x000.");
}

// ---------------------------------------------------------------------------------------
// Bounds

#[test]
fn a_million_nested_tuples() {
    let mut d = proto(4);
    d.extend(EMPTY_TUPLE);
    d.extend(std::iter::repeat_n(0x85, 1_000_000));
    d.extend(STOP);
    assert_safe(&d);
    // A list holding itself (a cycle), then lists kept alive in the memo.
    let mut d = proto(4);
    d.extend(cat(&[EMPTY_LIST, b"q\x00", b"h\x00", APPEND]));
    for _ in 0..200_000 {
        d.extend(cat(&[EMPTY_LIST, b"2", MEMOIZE, POP, APPEND]));
    }
    d.extend(STOP);
    let before = live_objects();
    assert_safe(&d);
    assert_eq!(live_objects(), before, "objects left alive after the scan");
}

#[test]
fn limits_are_findings() {
    let d = pickle(2, &cat(&[EMPTY_LIST, &int(1), APPEND, &int(2), APPEND]));
    let limits = Limits {
        max_opcodes: 4,
        ..Limits::default()
    };
    let s = scan_pickles(&d, policy(), &limits, &Location::default(), None);
    assert_eq!(rules(&s.findings), vec!["pickle.limit"]);
    assert!(!s.safe());
    let limits = Limits {
        max_pickle_items: 3,
        ..Limits::default()
    };
    let d = pickle(2, &cat(&[MARK, &int(1), &int(2), &int(3), &int(4), TUPLE]));
    let s = scan_pickles(&d, policy(), &limits, &Location::default(), None);
    assert_eq!(rules(&s.findings), vec!["pickle.limit"]);
}

#[test]
fn huge_declared_lengths_are_not_allocated() {
    for op in [&b"B"[..], b"X", b"T", b"\x8e", b"\x8d", b"\x96", b"\x8b"] {
        let width = match op[0] {
            b'B' | b'X' | b'T' | 0x8b => 4,
            _ => 8,
        };
        let d = cat(&[&proto(4), op, &vec![0x7f; width], b"abc"]);
        let s = scan(&d);
        assert_eq!(rules(&s.findings), vec!["pickle.truncated"], "{op:?}");
    }
}

#[test]
fn findings_are_aggregated() {
    let mut body = EMPTY_LIST.to_vec();
    for _ in 0..1000 {
        body.extend(call(&global("os", "system"), &[&bu("true")]));
        body.extend(APPEND);
    }
    let s = scan(&pickle(2, &body));
    assert_eq!(rules(&s.findings), vec!["pickle.dangerous-global"]);
    assert_eq!(s.globals[0].count, 1000);
    assert!(s.findings[0].message.contains("1000 times"));
}

#[test]
fn memo_keys_far_apart() {
    // Key 2000 is set before the vector reaches it, then the vector grows past it; MEMOIZE
    // takes the number of entries set as its key.
    let mut body = cat(&[&sbu("os"), b"p2000\n", POP]);
    for k in 0..=1500 {
        body.extend(cat(&[NONE, format!("p{k}\n").as_bytes(), POP]));
    }
    body.extend(cat(&[NONE, b"p2500\n", POP, &sbu("Popen"), MEMOIZE, POP]));
    body.extend(cat(&[b"g2000\n", &sbu("system"), STACK_GLOBAL, POP]));
    body.extend(cat(&[
        &sbu("subprocess"),
        b"j",
        &1503u32.to_le_bytes(),
        STACK_GLOBAL,
    ]));
    let s = assert_flags(&pickle(4, &body), "pickle.dangerous-global", "os.system");
    assert!(has(
        &s.findings,
        "pickle.dangerous-global",
        "subprocess.Popen"
    ));
    // Keys far apart each take one entry, not the slots between them.
    let mut body = Vec::new();
    for k in 0..50u32 {
        body.extend(cat(&[NONE, b"r", &(k * 1_000_000).to_le_bytes(), POP]));
    }
    body.extend(cat(&[b"j", &49_000_000u32.to_le_bytes()]));
    let limits = Limits {
        max_pickle_items: 200,
        ..Limits::default()
    };
    let s = scan_pickles(
        &pickle(2, &body),
        policy(),
        &limits,
        &Location::default(),
        None,
    );
    assert!(s.safe(), "{:#?}", s.findings);
}

#[test]
fn joblib_wrapper_spelled_with_escapes_is_read_as_joblib_too() {
    // The class name has no `NumpyArrayWrapper` in its bytes, so a container takes the
    // stream for a plain pickle. As a plain pickle: a first pickle ending at the `.` of the
    // array, then bytes (BINBYTES) and STOP. As joblib.load reads it: the 6 array bytes,
    // then os.system.
    let payload = call(&stack_global("os", "system"), &[&sbu("true")]);
    let array = cat(&[b".B", &(payload.len() as u32).to_le_bytes()]);
    let mut body = wrapper(&shape(&[6]), &dtype("u1", -1, 0), false, &array);
    let named = stack_global("joblib.numpy_pickle", "NumpyArrayWrapper");
    let escaped = cat(&[
        b"S'joblib.numpy_pickle'\n",
        b"S'Numpy\\x41rrayWrapper'\n",
        STACK_GLOBAL,
    ]);
    let at = body.windows(named.len()).position(|w| w == named).unwrap();
    body.splice(at..at + named.len(), escaped);
    let d = cat(&[&proto(4), &body, &payload, STOP]);
    assert!(memchr::memmem::find(&d, b"NumpyArrayWrapper").is_none());
    let f = scan_kind(&d, kind::PICKLE, None);
    assert!(has(&f, "pickle.dangerous-global", "os.system"), "{f:#?}");
    assert!(rules(&f).contains(&"pickle.joblib-wrapper"));
    // The same stream read as joblib's finds it directly.
    let f = scan_kind(&d, kind::JOBLIB, None);
    assert!(has(&f, "pickle.dangerous-global", "os.system"), "{f:#?}");
}

#[test]
fn many_distinct_globals_are_listed_up_to_a_bound() {
    let mut body = Vec::new();
    for i in 0..250 {
        body.extend(global("os", &format!("f{i}")));
        body.extend(global("unknown_mod", &format!("f{i}")));
    }
    let s = scan(&pickle(2, &body));
    assert_eq!(s.globals.len(), 500);
    let count = |rule: &str| s.findings.iter().filter(|f| f.rule == rule).count();
    assert_eq!(count("pickle.dangerous-global"), 101);
    assert_eq!(count("pickle.unknown-global"), 101);
    let more = s
        .findings
        .iter()
        .find(|f| f.rule == "pickle.dangerous-global" && f.global.is_none())
        .unwrap();
    assert!(
        more.message.starts_with("150 more findings"),
        "{}",
        more.message
    );
    assert_eq!(more.severity, Severity::Dangerous);
}

#[test]
fn joblib_wrapper_made_by_its_constructor() {
    // NumpyArrayWrapper(numpy.ndarray, (3,), 'C', dtype('u1')) by REDUCE, BUILD {}: the
    // alignment is the constructor's default, so a padding byte comes first. joblib.load
    // reads it as array([1, 2, 3]).
    let hex = "80048c136a6f626c69622e6e756d70795f7069636b6c658c114e756d707941727261795772617070657293288c056e756d70798c076e646172726179934b03858c0143636e756d70790a64747970650a71005802000000753171018988877102527103284b0358010000007c71044e4e4e4affffffff4affffffff4b007471056274527d6202ffff0102032e";
    let d: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let f = scan_kind(&d, kind::JOBLIB, None);
    assert!(f.is_empty(), "{f:#?}");
    // Without the padding byte the array swallows the STOP: cut short.
    let mut short = d.clone();
    short.drain(d.len() - 7..d.len() - 4);
    let f = scan_kind(&short, kind::JOBLIB, None);
    assert_eq!(rules(&f), vec!["pickle.truncated"], "{f:#?}");
}

#[test]
fn c_reads_number_lines_up_to_a_nul() {
    // pickle.loads reads INT/LONG/FLOAT/PUT/GET arguments as C strings: `I\x00junk` is 0,
    // `I12\x00x` is 12, a memo key `0\x00z` is 0. Python's unpickler refuses the NUL.
    let d =
        b"I\x00junk\n0I12\x00x\n0L7\x00\n0F1.5\x00\n0]p0\x00z\n0g0\x00\n0cos\nsystem\n(S'id'\ntR.";
    let c = scan(d);
    assert!(
        c.globals
            .iter()
            .any(|g| g.module == "os" && g.name == "system"),
        "{:?}",
        c.findings
    );
    let stream = Stream {
        data: d,
        location: Location::default(),
        max_pickles: None,
        kind: kind::JOBLIB,
        storages: None,
    };
    let py = read_stream(&stream, policy(), &Limits::default());
    assert!(py.findings.iter().any(|f| f.rule == "pickle.invalid"));
    assert!(py.globals.is_empty());
}

#[test]
fn a_tail_python_imports_from_is_not_trailing_data() {
    // A pickle, then INST without a MARK: C's unpickler fails before importing, Python's
    // (joblib's) imports os.system first. Not "trailing data".
    let d = b"\x80\x02K\x01.ios\nsystem\n";
    let s = scan(d);
    assert!(!s.safe(), "{:?}", s.findings);
    assert!(s.findings.iter().any(|f| f.rule == "pickle.invalid"));
    // Text after a pickle that no loader imports from stays trailing data.
    let s = scan(b"\x80\x02K\x01.# notes\n");
    assert!(s.safe(), "{:?}", s.findings);
}
