use super::*;

fn dangerous(policy: &Policy, module: &str, name: &str) -> bool {
    matches!(policy.classify(module, name), Verdict::Dangerous(_))
}

#[test]
fn core_lists() {
    let policy = Policy::new();
    assert!(dangerous(&policy, "os", "system"));
    assert!(dangerous(&policy, "subprocess", "Popen"));
    assert!(dangerous(&policy, "builtins", "eval"));
    assert_eq!(
        policy.classify("numpy.core.multiarray", "_reconstruct"),
        Verdict::Allowed
    );
    assert_eq!(
        policy.classify("collections", "OrderedDict"),
        Verdict::Allowed
    );
    assert_eq!(policy.classify("mypkg", "Thing"), Verdict::Unknown);
}

#[test]
fn python2_names_are_mapped_before_classifying() {
    let policy = Policy::new();
    for module in compat::python2_modules() {
        let (mapped, name) = compat::map_python2(module, "x").expect("listed module maps");
        assert_ne!(mapped, module);
        assert_eq!(name, "x");
    }
    for (module, name) in [
        ("__builtin__", "eval"),
        ("__builtin__", "getattr"),
        ("copy_reg", "add_extension"),
        ("commands", "getoutput"),
        ("cPickle", "loads"),
        ("thread", "start_new_thread"),
        ("urllib2", "urlopen"),
        ("urllib", "urlretrieve"),
        ("httplib", "HTTPConnection"),
        ("SocketServer", "TCPServer"),
        ("anydbm", "open"),
        ("dbm", "open"),
        ("__builtin__", "intern"),
        ("_socket", "fromfd"),
        ("multiprocessing.forking", "Popen"),
    ] {
        assert!(dangerous(&policy, module, name), "{module}.{name}");
    }
    for (module, name) in [
        ("__builtin__", "set"),
        ("__builtin__", "xrange"),
        ("__builtin__", "unicode"),
        ("__builtin__", "long"),
        ("copy_reg", "_reconstructor"),
        ("UserDict", "IterableUserDict"),
    ] {
        assert_eq!(
            policy.classify(module, name),
            Verdict::Allowed,
            "{module}.{name}"
        );
    }
    assert_eq!(policy.classify("__builtin__", "reduce"), Verdict::Unknown);
}
