//! Lenient column readers: each resolves a column once per batch (casting it to a layout
//! read without copying where needed) and then hands out typed values per row.

use ::arrow::array::{
    Array, ArrayRef, AsArray, GenericListArray, LargeStringArray, PrimitiveArray, StringArray,
    StringViewArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray,
};
use ::arrow::buffer::{NullBuffer, OffsetBuffer};
use ::arrow::compute::{CastOptions, cast_with_options};
use ::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Int8Type, Int16Type, Int32Type, Int64Type, TimeUnit, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use ::arrow::record_batch::RecordBatch;

use crate::records::{Id, Timestamp};
use crate::validate::Reason;

/// The column `name` of `batch`, if it has one (the first of that name).
pub(super) fn column<'b>(batch: &'b RecordBatch, name: &str) -> Option<&'b ArrayRef> {
    batch
        .schema_ref()
        .index_of(name)
        .ok()
        .map(|i| batch.column(i))
}

fn cast(field: &'static str, array: &ArrayRef, to: &DataType) -> Result<ArrayRef, Reason> {
    let options = CastOptions {
        safe: true,
        ..Default::default()
    };
    cast_with_options(array, to, &options).map_err(|e| Reason::InvalidField {
        field: field.into(),
        detail: format!("cannot read a {} column as {to}: {e}", array.data_type()),
    })
}

fn wrong_type(field: &'static str, expected: &str, found: &DataType) -> Reason {
    Reason::InvalidField {
        field: field.into(),
        detail: format!("expected {expected} column, found {found}"),
    }
}

/// Whether a missing required column rejects the rows, or an absent column reads as nulls.
pub(super) fn required<'b>(
    batch: &'b RecordBatch,
    name: &'static str,
) -> Result<&'b ArrayRef, Reason> {
    column(batch, name).ok_or_else(|| Reason::MissingField(name.into()))
}

// ---------------------------------------------------------------------------------------
// Strings.

/// A string column in a layout read without copying.
pub(super) struct StrCol {
    field: &'static str,
    /// `Utf8`, `LargeUtf8` or `Utf8View`; `None` for an absent (all-null) column.
    array: Option<ArrayRef>,
    /// The column before a cast that may have turned bad values into nulls (binary that
    /// isn't UTF-8).
    original: Option<ArrayRef>,
}

impl StrCol {
    /// Reads `array` as strings.
    pub(super) fn new(field: &'static str, array: &ArrayRef) -> Result<Self, Reason> {
        let (array, original) = match array.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => (array.clone(), None),
            DataType::Null => (cast(field, array, &DataType::Utf8)?, None),
            DataType::Dictionary(_, values) if is_stringish(values) => {
                (cast(field, array, &DataType::Utf8)?, None)
            }
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
                (cast(field, array, &DataType::Utf8)?, Some(array.clone()))
            }
            other => return Err(wrong_type(field, "a string", other)),
        };
        Ok(StrCol {
            field,
            array: Some(array),
            original,
        })
    }

    /// A column that is absent: every value is null.
    pub(super) fn absent(field: &'static str) -> Self {
        StrCol {
            field,
            array: None,
            original: None,
        }
    }

    /// Reads the column `name` of `batch`; absent reads as all nulls.
    pub(super) fn optional(batch: &RecordBatch, name: &'static str) -> Result<Self, Reason> {
        match column(batch, name) {
            Some(array) => StrCol::new(name, array),
            None => Ok(StrCol::absent(name)),
        }
    }

    /// Reads the column `name` of `batch`, which must be present.
    pub(super) fn required(batch: &RecordBatch, name: &'static str) -> Result<Self, Reason> {
        StrCol::new(name, required(batch, name)?)
    }

    /// The per-row reader.
    pub(super) fn view(&self) -> StrView<'_> {
        let strs = match &self.array {
            None => Strs::Nulls,
            Some(a) => match a.data_type() {
                DataType::Utf8 => a.as_string_opt::<i32>().map_or(Strs::Nulls, Strs::Utf8),
                DataType::LargeUtf8 => a.as_string_opt::<i64>().map_or(Strs::Nulls, Strs::Large),
                DataType::Utf8View => a.as_string_view_opt().map_or(Strs::Nulls, Strs::View),
                _ => Strs::Nulls,
            },
        };
        StrView {
            field: self.field,
            strs,
            original: self.original.as_deref(),
        }
    }
}

fn is_stringish(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
    )
}

#[derive(Clone, Copy)]
enum Strs<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
    Nulls,
}

/// Per-row access to a [`StrCol`].
#[derive(Clone, Copy)]
pub(super) struct StrView<'a> {
    field: &'static str,
    strs: Strs<'a>,
    original: Option<&'a dyn Array>,
}

impl<'a> StrView<'a> {
    #[inline]
    fn get(&self, i: usize) -> Option<&'a str> {
        match self.strs {
            Strs::Utf8(a) => (!a.is_null(i)).then(|| a.value(i)),
            Strs::Large(a) => (!a.is_null(i)).then(|| a.value(i)),
            Strs::View(a) => (!a.is_null(i)).then(|| a.value(i)),
            Strs::Nulls => None,
        }
    }

    /// The value of row `i`, `None` when null.
    #[inline]
    pub(super) fn opt(&self, i: usize) -> Result<Option<&'a str>, Reason> {
        match self.get(i) {
            Some(s) => Ok(Some(s)),
            None => self.null_at(i),
        }
    }

    #[cold]
    fn null_at(&self, i: usize) -> Result<Option<&'a str>, Reason> {
        match self.original {
            Some(o) if o.is_valid(i) => Err(Reason::InvalidField {
                field: self.field.into(),
                detail: "value is not valid UTF-8".into(),
            }),
            _ => Ok(None),
        }
    }

    /// The value of row `i`, which must not be null.
    #[inline]
    pub(super) fn req(&self, i: usize) -> Result<&'a str, Reason> {
        match self.opt(i)? {
            Some(s) => Ok(s),
            None => Err(Reason::MissingField(self.field.into())),
        }
    }

    /// The value of row `i` as an id, which must not be null.
    #[inline]
    pub(super) fn id(&self, i: usize) -> Result<Id, Reason> {
        self.req(i).map(Id::from)
    }

    /// The value of row `i` as an optional id.
    #[inline]
    pub(super) fn opt_id(&self, i: usize) -> Result<Option<Id>, Reason> {
        Ok(self.opt(i)?.map(Id::from))
    }

    /// The value of row `i` parsed as an enum, which must not be null.
    #[inline]
    pub(super) fn enumeration<T: Copy>(
        &self,
        i: usize,
        parse: fn(&str) -> Option<T>,
        all: &[T],
        name: fn(T) -> &'static str,
    ) -> Result<T, Reason> {
        let s = self.req(i)?;
        match parse(s) {
            Some(v) => Ok(v),
            None => Err(unknown_variant(self.field, s, all, name)),
        }
    }
}

#[cold]
fn unknown_variant<T: Copy>(
    field: &'static str,
    found: &str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Reason {
    let allowed: Vec<&str> = all.iter().map(|v| name(*v)).collect();
    Reason::InvalidField {
        field: field.into(),
        detail: format!(
            "unknown value {found:?}; expected one of {}",
            allowed.join(", ")
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Integers.

/// An integer column cast to the field's type `T`.
pub(super) struct IntCol<T: ArrowPrimitiveType> {
    field: &'static str,
    array: ArrayRef,
    /// The column before the cast, to tell overflow (null after the cast) from null.
    original: Option<ArrayRef>,
    _type: std::marker::PhantomData<T>,
}

impl<T: ArrowPrimitiveType> IntCol<T> {
    /// Reads the column `name` of `batch`, which must be present and of an integer type.
    pub(super) fn required(batch: &RecordBatch, name: &'static str) -> Result<Self, Reason> {
        let array = required(batch, name)?;
        let t = array.data_type();
        let (cast_array, original) = if *t == T::DATA_TYPE {
            (array.clone(), None)
        } else if t.is_integer() || *t == DataType::Null {
            (cast(name, array, &T::DATA_TYPE)?, Some(array.clone()))
        } else if let DataType::Dictionary(_, v) = t
            && v.is_integer()
        {
            (
                cast(name, array, &T::DATA_TYPE)?,
                Some(cast(name, array, v.as_ref())?),
            )
        } else {
            return Err(wrong_type(name, "an integer", t));
        };
        Ok(IntCol {
            field: name,
            array: cast_array,
            original,
            _type: std::marker::PhantomData,
        })
    }

    /// The per-row reader; `min..=max` is the field's range, for messages.
    pub(super) fn view(&self, min: i128, max: i128) -> IntView<'_, T> {
        IntView {
            field: self.field,
            array: self.array.as_primitive_opt::<T>(),
            original: self.original.as_deref(),
            min,
            max,
        }
    }
}

/// Per-row access to an [`IntCol`].
pub(super) struct IntView<'a, T: ArrowPrimitiveType> {
    field: &'static str,
    array: Option<&'a PrimitiveArray<T>>,
    original: Option<&'a dyn Array>,
    min: i128,
    max: i128,
}

impl<T: ArrowPrimitiveType> IntView<'_, T> {
    /// The value of row `i`, which must not be null and must fit the field.
    #[inline]
    pub(super) fn req(&self, i: usize) -> Result<T::Native, Reason> {
        match self.array {
            Some(a) if a.is_valid(i) => Ok(a.value(i)),
            _ => Err(self.invalid_at(i)),
        }
    }

    #[cold]
    fn invalid_at(&self, i: usize) -> Reason {
        match self.original {
            Some(o) if o.is_valid(i) => Reason::OutOfRange {
                field: self.field,
                value: int_at(o, i).unwrap_or_default(),
                min: self.min,
                max: self.max,
            },
            _ => Reason::MissingField(self.field.into()),
        }
    }
}

/// The integer at row `i` of an integer column, widened.
pub(super) fn int_at(array: &dyn Array, i: usize) -> Option<i128> {
    fn get<T: ArrowPrimitiveType>(a: &dyn Array, i: usize) -> Option<i128>
    where
        T::Native: Into<i128>,
    {
        a.as_primitive_opt::<T>().map(|a| a.value(i).into())
    }
    if i >= array.len() || array.is_null(i) {
        return None;
    }
    match array.data_type() {
        DataType::Int8 => get::<Int8Type>(array, i),
        DataType::Int16 => get::<Int16Type>(array, i),
        DataType::Int32 => get::<Int32Type>(array, i),
        DataType::Int64 => get::<Int64Type>(array, i),
        DataType::UInt8 => get::<UInt8Type>(array, i),
        DataType::UInt16 => get::<UInt16Type>(array, i),
        DataType::UInt32 => get::<UInt32Type>(array, i),
        DataType::UInt64 => get::<UInt64Type>(array, i),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Times.

/// A timestamp column of any unit and zone.
pub(super) struct TimeCol {
    array: ArrayRef,
}

impl TimeCol {
    /// Reads the column `name` of `batch`, which must be present and a timestamp.
    pub(super) fn required(batch: &RecordBatch, name: &'static str) -> Result<Self, Reason> {
        let array = required(batch, name)?;
        let array = match array.data_type() {
            DataType::Timestamp(..) => array.clone(),
            DataType::Null => cast(name, array, &super::time_type())?,
            other => return Err(wrong_type(name, "a timestamp", other)),
        };
        Ok(TimeCol { array })
    }

    /// Wraps a column already known to be a timestamp.
    pub(super) fn from_array(array: ArrayRef) -> Self {
        TimeCol { array }
    }

    /// The per-row reader.
    pub(super) fn view(&self) -> TimeView<'_> {
        let a = &self.array;
        match a.data_type() {
            DataType::Timestamp(TimeUnit::Second, _) => {
                a.as_primitive_opt().map_or(TimeView::Nulls, TimeView::S)
            }
            DataType::Timestamp(TimeUnit::Millisecond, _) => {
                a.as_primitive_opt().map_or(TimeView::Nulls, TimeView::Ms)
            }
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                a.as_primitive_opt().map_or(TimeView::Nulls, TimeView::Us)
            }
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                a.as_primitive_opt().map_or(TimeView::Nulls, TimeView::Ns)
            }
            _ => TimeView::Nulls,
        }
    }
}

/// Per-row access to a [`TimeCol`], in milliseconds.
#[derive(Clone, Copy)]
pub(super) enum TimeView<'a> {
    S(&'a TimestampSecondArray),
    Ms(&'a TimestampMillisecondArray),
    Us(&'a TimestampMicrosecondArray),
    Ns(&'a TimestampNanosecondArray),
    Nulls,
}

impl TimeView<'_> {
    /// The time of row `i` in milliseconds since the epoch; must not be null.
    #[inline]
    pub(super) fn req(&self, i: usize, field: &'static str) -> Result<Timestamp, Reason> {
        let missing = || Reason::MissingField(field.into());
        match *self {
            TimeView::Ms(a) => a.is_valid(i).then(|| a.value(i)).ok_or_else(missing),
            TimeView::Us(a) => a
                .is_valid(i)
                .then(|| a.value(i).div_euclid(1_000))
                .ok_or_else(missing),
            TimeView::Ns(a) => a
                .is_valid(i)
                .then(|| a.value(i).div_euclid(1_000_000))
                .ok_or_else(missing),
            TimeView::S(a) => {
                if a.is_null(i) {
                    return Err(missing());
                }
                let s = a.value(i);
                s.checked_mul(1000).ok_or(Reason::OutOfRange {
                    field,
                    value: i128::from(s),
                    min: i128::from(i64::MIN / 1000),
                    max: i128::from(i64::MAX / 1000),
                })
            }
            TimeView::Nulls => Err(missing()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Lists of strings.

enum Offsets {
    Small(OffsetBuffer<i32>),
    Large(OffsetBuffer<i64>),
}

/// A list-of-strings column (`List` or `LargeList` of any string layout).
pub(super) struct ListCol {
    field: &'static str,
    offsets: Offsets,
    nulls: Option<NullBuffer>,
    values: StrCol,
}

impl ListCol {
    /// Reads the column `name` of `batch`, which must be present and a list of strings.
    pub(super) fn required(batch: &RecordBatch, name: &'static str) -> Result<Self, Reason> {
        let array = required(batch, name)?;
        fn parts<O: ::arrow::array::OffsetSizeTrait>(
            l: &GenericListArray<O>,
        ) -> (OffsetBuffer<O>, Option<NullBuffer>, ArrayRef) {
            (l.offsets().clone(), l.nulls().cloned(), l.values().clone())
        }
        let (offsets, nulls, values) = match array.data_type() {
            DataType::List(_) => match array.as_list_opt::<i32>() {
                Some(l) => {
                    let (o, n, v) = parts(l);
                    (Offsets::Small(o), n, v)
                }
                None => return Err(wrong_type(name, "a list", array.data_type())),
            },
            DataType::LargeList(_) => match array.as_list_opt::<i64>() {
                Some(l) => {
                    let (o, n, v) = parts(l);
                    (Offsets::Large(o), n, v)
                }
                None => return Err(wrong_type(name, "a list", array.data_type())),
            },
            DataType::Null => {
                let empty = OffsetBuffer::<i32>::new_zeroed(array.len());
                let nulls = Some(NullBuffer::new_null(array.len()));
                let values: ArrayRef = std::sync::Arc::new(StringArray::from(Vec::<&str>::new()));
                (Offsets::Small(empty), nulls, values)
            }
            other => return Err(wrong_type(name, "a list of strings", other)),
        };
        let values = StrCol::new(name, &values).map_err(|e| match e {
            Reason::InvalidField { field, detail } => Reason::InvalidField {
                field,
                detail: format!("list items: {detail}"),
            },
            other => other,
        })?;
        Ok(ListCol {
            field: name,
            offsets,
            nulls,
            values,
        })
    }

    /// The per-row reader.
    pub(super) fn view(&self) -> ListView<'_> {
        ListView {
            col: self,
            values: self.values.view(),
        }
    }
}

/// Per-row access to a [`ListCol`].
pub(super) struct ListView<'a> {
    col: &'a ListCol,
    values: StrView<'a>,
}

impl ListView<'_> {
    /// The ids of row `i`; the list must not be null, nor any of its items.
    #[inline]
    pub(super) fn ids(&self, i: usize) -> Result<Vec<Id>, Reason> {
        if self.col.nulls.as_ref().is_some_and(|n| n.is_null(i)) {
            return Err(Reason::MissingField(self.col.field.into()));
        }
        let (start, end) = match &self.col.offsets {
            Offsets::Small(o) => (o[i] as usize, o[i + 1] as usize),
            Offsets::Large(o) => (o[i] as usize, o[i + 1] as usize),
        };
        let mut ids = Vec::with_capacity(end.saturating_sub(start));
        for j in start..end {
            match self.values.opt(j)? {
                Some(s) => ids.push(Id::from(s)),
                None => {
                    return Err(Reason::InvalidField {
                        field: self.col.field.into(),
                        detail: format!("item {} is null", j - start),
                    });
                }
            }
        }
        Ok(ids)
    }
}
