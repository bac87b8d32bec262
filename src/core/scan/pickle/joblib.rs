//! joblib's inline arrays. `joblib.dump` pickles each numpy array as a
//! `NumpyArrayWrapper` (subclass, shape, order, dtype, allow_mmap and, since joblib 1.2,
//! `numpy_array_alignment_bytes`) and writes the array right after the wrapper's `BUILD`,
//! outside any frame: for a dtype holding objects a nested pickle, otherwise a padding
//! length byte and that many pad bytes (when the wrapper has an alignment), then
//! `prod(shape) * itemsize` raw bytes. `NumpyUnpickler.load_build` reads them there
//! (joblib 1.4+, `numpy_pickle.py`: `NumpyArrayWrapper.read_array`/`read_mmap`), so the
//! reader must skip exactly as many bytes to find the next opcode.
//!
//! The size comes from the wrapper's attributes: its BUILD states (latest first), then the
//! arguments of its constructor when it was called rather than made by `NEWOBJ` or
//! `copyreg`. The dtype is a `numpy.dtype` call with its BUILD state (code, flags,
//! `elsize`, subarray and fields for structured types). A wrapper whose size cannot be
//! known leaves the rest of the stream unreadable: `Halt::Unsizable`. Where joblib itself
//! fails (a negative or overflowing shape, an item size of 0) the pickle is invalid.
//!
//! The wrappers of joblib < 0.10 read their arrays from other files: `NDArrayWrapper`
//! with `numpy.load(allow_pickle=True)` (a pickle may run: `Unknown`), `ZNDArrayWrapper`
//! raw data (`Info`).

use std::rc::Rc;

use super::calls::{JOBLIB_WRAPPERS, NUMPY_DTYPES};
use super::machine::{Halt, Machine, Mode, Persist, Step};
use super::value::{Kind, Named, Obj, Value};
use super::Reader;
use crate::core::scan::Severity;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Wrapper {
    Numpy,
    Nd,
    Znd,
}

fn wrapper(by: &Named) -> Option<Wrapper> {
    let path = JOBLIB_WRAPPERS.iter().find(|p| by.is(p))?;
    Some(if path.ends_with(".NumpyArrayWrapper") {
        Wrapper::Numpy
    } else if path.ends_with(".ZNDArrayWrapper") {
        Wrapper::Znd
    } else {
        Wrapper::Nd
    })
}

/// An attribute of a wrapper.
enum Attr<'a> {
    Known(Value<'a>),
    Absent,
    Unknown,
}

const NUMPY_PARAMS: &[&str] = &[
    "subclass",
    "shape",
    "order",
    "dtype",
    "allow_mmap",
    "numpy_array_alignment_bytes",
];
const ND_PARAMS: &[&str] = &["filename", "subclass", "allow_mmap"];

/// The attribute `name` of `inst`, made by a class whose `__init__` takes `params` (and
/// `default` for those left out).
fn attr<'a>(
    inst: &Obj<'a>,
    name: &str,
    params: &[&str],
    default: impl Fn(&str) -> Option<Value<'a>>,
) -> Attr<'a> {
    let Kind::Made { args, state, .. } = &inst.kind else {
        return Attr::Unknown;
    };
    for st in state.borrow().iter().rev() {
        // BUILD with `(state, slot_state)` sets the slot state last.
        let parts = match st.kind() {
            Some(Kind::Tuple) => match st.items() {
                Some(items) if items.len() == 2 => vec![items[1].clone(), items[0].clone()],
                _ => return Attr::Unknown,
            },
            _ => vec![st.clone()],
        };
        for part in parts {
            match part {
                Value::None => {}
                v => match v.dict_get(name) {
                    Ok(Some(x)) => return Attr::Known(x),
                    Ok(None) => {}
                    Err(()) => return Attr::Unknown,
                },
            }
        }
    }
    if inst.more.get() {
        return Attr::Unknown;
    }
    let Some(args) = args else {
        // Made by NEWOBJ or copyreg: no `__init__` ran.
        return Attr::Absent;
    };
    let Some(items) = args.items() else {
        return Attr::Unknown;
    };
    match params.iter().position(|p| *p == name) {
        Some(i) if i < items.len() => Attr::Known(items[i].clone()),
        Some(_) => default(name).map_or(Attr::Absent, Attr::Known),
        None => Attr::Absent,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DType {
    pub(crate) itemsize: u64,
    pub(crate) hasobject: bool,
}

/// The kind character and item size of a dtype code as numpy pickles it (`'f8'`,
/// `'U4'`, `'V12'`, `'O8'`, ...).
fn parse_code(code: &str) -> Option<(char, u64)> {
    let code = code.strip_prefix(['<', '>', '|', '=']).unwrap_or(code);
    let mut chars = code.chars();
    let kind = chars.next()?;
    let digits = chars.as_str();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 12 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let size = match kind {
        'b' if n == 1 => 1,
        'i' | 'u' if [1, 2, 4, 8].contains(&n) => n,
        'f' if [2, 4, 8, 16].contains(&n) => n,
        'c' if [8, 16, 32].contains(&n) => n,
        'M' | 'm' if n == 8 => 8,
        'O' if n == 8 || n == 4 => n,
        'S' | 'V' => n,
        'U' => n.checked_mul(4)?,
        _ => return None,
    };
    Some((kind, size))
}

/// What joblib needs of a dtype: its item size and whether it holds objects. `None` when
/// the value is not a dtype the reader can read, or when its code and state disagree.
pub(crate) fn dtype_info(v: &Value<'_>, budget: &mut usize) -> Option<DType> {
    if *budget == 0 {
        return None;
    }
    *budget -= 1;
    let o = v.as_obj()?;
    let Kind::Made {
        by,
        args: Some(args),
        state,
    } = &o.kind
    else {
        return None;
    };
    if !NUMPY_DTYPES.iter().any(|p| by.is(p)) || o.more.get() {
        return None;
    }
    let code = args.items()?.first()?.as_str()?.to_string();
    let (kind, size) = parse_code(&code)?;
    let kind_object = kind == 'O';
    let states = state.borrow();
    let Some(last) = states.last() else {
        return Some(DType {
            itemsize: size,
            hasobject: kind_object,
        });
    };
    let t = last.items()?;
    let int = |i: usize| match t.get(i) {
        Some(Value::Int(v)) => Some(*v),
        _ => None,
    };
    let version = int(0)?;
    let expected = match version {
        3 => 8,
        4 => 9,
        _ => return None,
    };
    if t.len() != expected {
        return None;
    }
    let (elsize, flags) = (int(5)?, int(7)?);
    let mut inner_object = false;
    if !matches!(t[2], Value::None) {
        let sub = t[2].items()?;
        inner_object |= dtype_info(sub.first()?, budget)?.hasobject;
    }
    if !matches!(t[4], Value::None) {
        let f = t[4].as_obj()?;
        if !matches!(f.kind, Kind::Dict) || f.more.get() {
            return None;
        }
        let items = f.items.borrow().clone();
        for pair in items.chunks(2) {
            let field = pair.get(1)?.items()?;
            inner_object |= dtype_info(field.first()?, budget)?.hasobject;
        }
    }
    let hasobject = kind_object || inner_object;
    if hasobject != (flags & 1 != 0) {
        return None;
    }
    let itemsize = match (kind, elsize) {
        (_, -1) => size,
        ('S' | 'U' | 'V', e) if e >= 0 && e as u64 == size => size,
        _ => return None,
    };
    Some(DType {
        itemsize,
        hasobject,
    })
}

/// The element count joblib computes from a shape (the product of int64s).
fn element_count(shape: &Value<'_>) -> Result<u64, Halt> {
    let unsizable = || Halt::Unsizable(format!("its shape is {}", shape.describe()));
    let dims = shape.items().ok_or_else(unsizable)?;
    let mut count: i128 = 1;
    for d in &dims {
        let d = match d {
            Value::Int(v) => i128::from(*v),
            Value::Bool(b) => i128::from(*b),
            _ => return Err(unsizable()),
        };
        if d < 0 {
            return Err(Halt::Invalid(
                "joblib array wrapper with a negative dimension: joblib fails to read it".into(),
            ));
        }
        count = count.saturating_mul(d);
    }
    u64::try_from(count)
        .ok()
        .filter(|&c| i64::try_from(c).is_ok())
        .ok_or_else(|| {
            Halt::Invalid(
                "joblib array wrapper whose shape overflows int64: joblib fails to read it".into(),
            )
        })
}

impl<'a> Reader<'a, '_> {
    /// After `BUILD` on `inst` in a joblib stream: if it is an array wrapper, skips its
    /// array as joblib reads it and puts an array in its place.
    pub(crate) fn joblib_build(
        &mut self,
        m: &mut Machine<'a>,
        inst: &Rc<Obj<'a>>,
        by: &Named,
    ) -> Step<()> {
        let Some(w) = wrapper(by) else {
            return Ok(());
        };
        match w {
            Wrapper::Numpy => self.numpy_array(m, inst)?,
            Wrapper::Nd | Wrapper::Znd => {
                let file = match attr(inst, "filename", ND_PARAMS, |_| None) {
                    Attr::Known(Value::Str(t)) => format!("'{}'", super::text::shorten(t.as_str())),
                    _ => "a file it names".into(),
                };
                if w == Wrapper::Nd {
                    self.rec.note(
                        "pickle.joblib-external",
                        Severity::Unknown,
                        m.at as u64,
                        &file,
                        None,
                        || format!("joblib NDArrayWrapper (joblib < 0.10) loads its array from {file} beside this file with numpy.load(allow_pickle=True), which can run a pickle: scan that file too"),
                    );
                } else {
                    self.rec.note(
                        "pickle.joblib-external-data",
                        Severity::Info,
                        m.at as u64,
                        &file,
                        None,
                        || format!("joblib ZNDArrayWrapper (joblib < 0.10) reads raw array data from {file} beside this file (data only)"),
                    );
                }
            }
        }
        m.pop()?;
        let array = m.new_obj(Kind::Array);
        m.push(array);
        Ok(())
    }

    fn numpy_array(&mut self, m: &mut Machine<'a>, inst: &Obj<'a>) -> Step<()> {
        let default = |name: &str| match name {
            "allow_mmap" => Some(Value::Bool(false)),
            "numpy_array_alignment_bytes" => Some(Value::Int(16)),
            _ => None,
        };
        let get = |name: &str, what: &str| match attr(inst, name, NUMPY_PARAMS, default) {
            Attr::Known(v) => Ok(v),
            Attr::Absent => Err(Halt::Invalid(format!(
                "joblib array wrapper without {what}: joblib fails to read it"
            ))),
            Attr::Unknown => Err(Halt::Unsizable(format!("its {what} cannot be followed"))),
        };
        let dtype = get("dtype", "dtype")?;
        let shape = get("shape", "shape")?;
        let dt = dtype_info(&dtype, &mut 256)
            .ok_or_else(|| Halt::Unsizable(format!("its dtype is {}", dtype.describe())))?;
        let count = element_count(&shape)?;
        if dt.hasobject {
            // A nested pickle, read by a plain `pickle._Unpickler` from the file.
            let nested = Mode {
                python: true,
                persist: Persist::Refused,
                joblib: false,
            };
            if m.pos >= self.data.len() {
                return Err(Halt::Truncated(
                    "the data ends before the nested pickle of a joblib object array".into(),
                ));
            }
            let (_, next) = self
                .run(m.pos, nested)
                .map_err(|f| Halt::At(f.at, Box::new(f.halt)))?;
            m.pos = next;
            return Ok(());
        }
        let aligned = match attr(inst, "numpy_array_alignment_bytes", NUMPY_PARAMS, default) {
            Attr::Known(Value::None) | Attr::Absent => false,
            Attr::Known(_) => true,
            Attr::Unknown => {
                return Err(Halt::Unsizable("its alignment cannot be followed".into()))
            }
        };
        if aligned {
            let Some(&pad) = self.data.get(m.pos) else {
                return Err(Halt::Truncated(
                    "the data ends before the padding of a joblib array".into(),
                ));
            };
            m.pos = (m.pos + 1 + usize::from(pad)).min(self.data.len());
        }
        if dt.itemsize == 0 {
            return Err(Halt::Invalid(
                "joblib array of item size 0: joblib fails to read it".into(),
            ));
        }
        let need = u128::from(count) * u128::from(dt.itemsize);
        let rest = (self.data.len() - m.pos) as u128;
        if need > rest {
            return Err(Halt::Truncated(format!(
                "a joblib array of {count} items of {} bytes needs {need} bytes, {rest} are left",
                dt.itemsize
            )));
        }
        m.pos += need as usize;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_codes() {
        assert_eq!(parse_code("f8"), Some(('f', 8)));
        assert_eq!(parse_code("U4"), Some(('U', 16)));
        assert_eq!(parse_code("V12"), Some(('V', 12)));
        assert_eq!(parse_code("<i4"), Some(('i', 4)));
        assert_eq!(parse_code("b1"), Some(('b', 1)));
        assert_eq!(parse_code("O8"), Some(('O', 8)));
        assert_eq!(parse_code("f3"), None);
        assert_eq!(parse_code("float64"), None);
        assert_eq!(parse_code("f"), None);
        assert_eq!(parse_code(""), None);
        assert_eq!(parse_code("U99999999999999"), None);
    }
}
