//! A reader for GGUF files (versions 2 and 3): the metadata key-value pairs, the tensor table,
//! and tensor data read with buffered I/O into one owned buffer (no memory map, so no `unsafe`
//! and no surprises when the file changes underneath).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::kernels::DType;

/// A metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Array(Vec<Value>),
}

/// One tensor's entry in the table: its name, dimensions (innermost first, as GGML counts them),
/// type and where its data starts relative to the data section.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub dims: Vec<usize>,
    pub dtype: DType,
    pub offset: u64,
}

impl TensorInfo {
    pub fn elements(&self) -> usize {
        self.dims.iter().product()
    }

    /// Bytes of data: rows of `dims[0]` elements.
    pub fn bytes(&self) -> usize {
        let row = self.dims.first().copied().unwrap_or(1);
        let rows = self.elements() / row.max(1);
        self.dtype.row_bytes(row).unwrap_or(0) * rows
    }
}

/// The header of a GGUF file: metadata and the tensor table.
#[derive(Debug)]
pub struct Header {
    pub version: u32,
    pub metadata: HashMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
    /// Where tensor data starts in the file.
    pub data_start: u64,
}

/// Why a file could not be read; the message names the file's problem.
pub type Error = String;

impl Header {
    /// Reads the header of the GGUF at `path`.
    pub fn read(path: &Path) -> Result<(Self, BufReader<File>), Error> {
        let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let mut r = Reader {
            inner: BufReader::with_capacity(1 << 20, file),
            pos: 0,
        };
        let header = r.header().map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((header, r.inner))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        match self.get(key)? {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }

    pub fn float(&self, key: &str) -> Option<f64> {
        match self.get(key)? {
            Value::Float(v) => Some(*v),
            Value::Int(v) => Some(*v as f64),
            _ => None,
        }
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Value::Str(v) => Some(v),
            _ => None,
        }
    }

    pub fn array(&self, key: &str) -> Option<&[Value]> {
        match self.get(key)? {
            Value::Array(v) => Some(v),
            _ => None,
        }
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Reads every tensor's data into one buffer; each tensor's bytes start at its `offset`.
    pub fn read_data(&self, file: &mut BufReader<File>) -> Result<Vec<u8>, Error> {
        let end = self
            .tensors
            .iter()
            .map(|t| t.offset + t.bytes() as u64)
            .max()
            .unwrap_or(0);
        let len = file.get_ref().metadata().map_err(|e| e.to_string())?.len();
        if self.data_start + end > len {
            return Err(format!(
                "the file is truncated: tensor data needs {} bytes, the file has {len}",
                self.data_start + end
            ));
        }
        file.seek(SeekFrom::Start(self.data_start))
            .map_err(|e| e.to_string())?;
        let mut data = vec![0u8; end as usize];
        file.read_exact(&mut data)
            .map_err(|e| format!("reading tensor data: {e}"))?;
        Ok(data)
    }
}

/// Arrays longer than this or strings longer than this are taken as corruption, not data.
const MAX_ITEMS: u64 = 1 << 24;

struct Reader {
    inner: BufReader<File>,
    pos: u64,
}

impl Reader {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut b = [0u8; N];
        self.inner
            .read_exact(&mut b)
            .map_err(|_| "unexpected end of file in the GGUF header".to_owned())?;
        self.pos += N as u64;
        Ok(b)
    }

    fn u32(&mut self) -> Result<u32, Error> {
        self.bytes().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, Error> {
        self.bytes().map(u64::from_le_bytes)
    }

    fn string(&mut self) -> Result<String, Error> {
        let len = self.u64()?;
        if len > MAX_ITEMS {
            return Err(format!("a string of {len} bytes: the header is corrupt"));
        }
        let mut b = vec![0u8; len as usize];
        self.inner
            .read_exact(&mut b)
            .map_err(|_| "unexpected end of file in the GGUF header".to_owned())?;
        self.pos += len;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }

    fn value(&mut self, kind: u32, depth: u32) -> Result<Value, Error> {
        Ok(match kind {
            0 => Value::Int(i64::from(self.bytes::<1>()?[0])),
            1 => Value::Int(i64::from(self.bytes::<1>()?[0] as i8)),
            2 => Value::Int(i64::from(u16::from_le_bytes(self.bytes()?))),
            3 => Value::Int(i64::from(i16::from_le_bytes(self.bytes()?))),
            4 => Value::Int(i64::from(self.u32()?)),
            5 => Value::Int(i64::from(i32::from_le_bytes(self.bytes()?))),
            6 => Value::Float(f64::from(f32::from_le_bytes(self.bytes()?))),
            7 => Value::Bool(self.bytes::<1>()?[0] != 0),
            8 => Value::Str(self.string()?),
            9 if depth == 0 => {
                let item = self.u32()?;
                let n = self.u64()?;
                if n > MAX_ITEMS {
                    return Err(format!("an array of {n} items: the header is corrupt"));
                }
                let items = (0..n)
                    .map(|_| self.value(item, depth + 1))
                    .collect::<Result<_, _>>()?;
                Value::Array(items)
            }
            10 => Value::Int(self.u64()? as i64),
            11 => Value::Int(i64::from_le_bytes(self.bytes()?)),
            12 => Value::Float(f64::from_le_bytes(self.bytes()?)),
            other => return Err(format!("unknown metadata value type {other}")),
        })
    }

    fn header(&mut self) -> Result<Header, Error> {
        if &self.bytes::<4>()? != b"GGUF" {
            return Err("not a GGUF file (bad magic)".into());
        }
        let version = self.u32()?;
        if !(2..=3).contains(&version) {
            return Err(format!("GGUF version {version} is not supported (2 or 3)"));
        }
        let n_tensors = self.u64()?;
        let n_kv = self.u64()?;
        if n_tensors > MAX_ITEMS || n_kv > MAX_ITEMS {
            return Err("the header is corrupt (absurd counts)".into());
        }
        let mut metadata = HashMap::new();
        for _ in 0..n_kv {
            let key = self.string()?;
            let kind = self.u32()?;
            let value = self.value(kind, 0)?;
            metadata.insert(key, value);
        }
        let mut tensors = Vec::with_capacity(n_tensors as usize);
        for _ in 0..n_tensors {
            let name = self.string()?;
            let n_dims = self.u32()?;
            if n_dims > 4 {
                return Err(format!("tensor {name} has {n_dims} dimensions"));
            }
            let dims = (0..n_dims)
                .map(|_| self.u64().map(|d| d as usize))
                .collect::<Result<Vec<_>, _>>()?;
            let kind = self.u32()?;
            let dtype = DType::from_ggml(kind)
                .ok_or_else(|| format!("tensor {name} has type {kind}, which is not supported"))?;
            if dtype
                .row_bytes(dims.first().copied().unwrap_or(1))
                .is_none()
            {
                return Err(format!("tensor {name}: rows are not whole blocks"));
            }
            let offset = self.u64()?;
            tensors.push(TensorInfo {
                name,
                dims,
                dtype,
                offset,
            });
        }
        let alignment = match metadata.get("general.alignment") {
            Some(Value::Int(a)) if *a > 0 => *a as u64,
            _ => 32,
        };
        let data_start = self.pos.div_ceil(alignment) * alignment;
        Ok(Header {
            version,
            metadata,
            tensors,
            data_start,
        })
    }
}
