#![no_main]
//! `_core::core::scan::container::fuzzing::hdf5` on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = _core::core::scan::container::fuzzing::hdf5(data);
});
