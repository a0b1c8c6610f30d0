//! The YAML parser's events for [`super::yaml`]: libyaml over the text, and for large files on a
//! second thread, in batches, while the caller builds.
//!
//! libyaml is `unsafe-libyaml`, the C library translated to Rust that serde_yaml (the design card's
//! YAML crate) parses with; this module is the only place that calls it, and turns each of its events
//! into an owned [`Event`] at once. On the 10,000-service benchmark file (2.2 MB) it yields the same
//! 350,221 events as granit-parser (serde-saphyr's parser, used before) in 43 ms against 74–82 ms.
//! libyaml-safer, its port to safe Rust, was tried first and dropped: it panics on inputs the fuzz
//! tests hold (`panic!("TODO: ...")` in its tag scanner, "unexpected end of input" at a line break).

use std::collections::VecDeque;
use std::ffi::CStr;
use std::mem::MaybeUninit;

use unsafe_libyaml as unsafe_sys;

use super::source_map::Span;

/// A YAML parse failure with its place.
#[derive(Debug)]
pub struct YamlError {
    /// What went wrong, without the snippet the parser adds.
    pub message: String,
    /// Where, when the parser knows.
    pub span: Option<Span>,
}

/// How a scalar was written: only plain scalars are typed by the core schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ScalarStyle {
    /// Written without quotes or block indicator.
    Plain,
    /// Quoted, literal (`|`) or folded (`>`).
    Other,
}

/// What one event says.
#[derive(Debug)]
pub(super) enum EventData {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Alias {
        anchor: String,
    },
    Scalar {
        anchor: Option<String>,
        tag: Option<String>,
        value: String,
        style: ScalarStyle,
    },
    SequenceStart {
        anchor: Option<String>,
        tag: Option<String>,
    },
    SequenceEnd,
    MappingStart {
        anchor: Option<String>,
        tag: Option<String>,
    },
    MappingEnd,
}

/// One parser event and the bytes of the text it covers. A block collection covers nothing (its
/// start, zero bytes): what stands for it is the key it is written under.
#[derive(Debug)]
pub(super) struct Event {
    pub(super) data: EventData,
    pub(super) start: usize,
    pub(super) end: usize,
}

/// One parser event, or the parse error that ended the stream.
pub(super) type Item = Result<Event, YamlError>;

/// The byte offset of a parser mark (libyaml counts bytes of the UTF-8 input).
fn offset(m: &unsafe_sys::yaml_mark_t) -> usize {
    usize::try_from(m.index).unwrap_or(usize::MAX)
}

/// A C string libyaml owns, copied; `None` for a null pointer.
///
/// # Safety
/// `p` is null or points to a NUL-terminated string that lives for the call.
unsafe fn text_of(p: *const u8) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null, and NUL-terminated by the caller's contract.
    let bytes = unsafe { CStr::from_ptr(p.cast()) }.to_bytes();
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// An owned copy of a libyaml event.
///
/// # Safety
/// `e` is an event `yaml_parser_parse` filled in and that has not been deleted.
unsafe fn convert(e: &unsafe_sys::yaml_event_t) -> Event {
    let start = offset(&e.start_mark);
    let mut end = offset(&e.end_mark).max(start);
    // SAFETY: each arm reads the union member its event type names, as libyaml fills it.
    let data = unsafe {
        match e.type_ {
            unsafe_sys::YAML_STREAM_START_EVENT => EventData::StreamStart,
            unsafe_sys::YAML_STREAM_END_EVENT => EventData::StreamEnd,
            unsafe_sys::YAML_DOCUMENT_START_EVENT => EventData::DocumentStart,
            unsafe_sys::YAML_DOCUMENT_END_EVENT => EventData::DocumentEnd,
            unsafe_sys::YAML_ALIAS_EVENT => EventData::Alias {
                anchor: text_of(e.data.alias.anchor).unwrap_or_default(),
            },
            unsafe_sys::YAML_SCALAR_EVENT => {
                let s = &e.data.scalar;
                let bytes = if s.value.is_null() {
                    &[][..]
                } else {
                    std::slice::from_raw_parts(s.value, usize::try_from(s.length).unwrap_or(0))
                };
                EventData::Scalar {
                    anchor: text_of(s.anchor),
                    tag: text_of(s.tag),
                    value: String::from_utf8_lossy(bytes).into_owned(),
                    style: if s.style == unsafe_sys::YAML_PLAIN_SCALAR_STYLE {
                        ScalarStyle::Plain
                    } else {
                        ScalarStyle::Other
                    },
                }
            }
            unsafe_sys::YAML_SEQUENCE_START_EVENT => {
                let s = &e.data.sequence_start;
                if s.style != unsafe_sys::YAML_FLOW_SEQUENCE_STYLE {
                    end = start;
                }
                EventData::SequenceStart {
                    anchor: text_of(s.anchor),
                    tag: text_of(s.tag),
                }
            }
            unsafe_sys::YAML_SEQUENCE_END_EVENT => EventData::SequenceEnd,
            unsafe_sys::YAML_MAPPING_START_EVENT => {
                let m = &e.data.mapping_start;
                if m.style != unsafe_sys::YAML_FLOW_MAPPING_STYLE {
                    end = start;
                }
                EventData::MappingStart {
                    anchor: text_of(m.anchor),
                    tag: text_of(m.tag),
                }
            }
            unsafe_sys::YAML_MAPPING_END_EVENT => EventData::MappingEnd,
            // YAML_NO_EVENT: libyaml gives it only after the stream's end, which stops the reading.
            _ => EventData::StreamEnd,
        }
    };
    Event { data, start, end }
}

/// libyaml's error as ours: `context, problem` as libyaml words them (`while parsing a flow mapping,
/// did not find expected ',' or '}'`), at the problem's place.
fn scan_error(p: &unsafe_sys::yaml_parser_t, text: &str) -> YamlError {
    // SAFETY: libyaml sets `problem` and `context` to static strings or null.
    let (problem, context) = unsafe {
        (
            text_of(p.problem.cast()).unwrap_or_else(|| "invalid YAML".into()),
            text_of(p.context.cast()),
        )
    };
    let message = match context {
        Some(context) => format!("{context}, {problem}"),
        None => problem,
    };
    let at = if p.error == unsafe_sys::YAML_READER_ERROR {
        usize::try_from(p.problem_offset).unwrap_or(usize::MAX)
    } else {
        offset(&p.problem_mark)
    };
    let at = at.min(text.len());
    let len = text
        .get(at..)
        .and_then(|t| t.chars().next())
        .map_or(0, char::len_utf8);
    let len = if p.error == unsafe_sys::YAML_READER_ERROR {
        len
    } else {
        0
    };
    YamlError {
        message,
        span: Some(Span::new(at, len)),
    }
}

/// libyaml reading `text`: its events, in order, ending after the stream's end or the first error.
pub(super) struct Events<'a> {
    /// Boxed: libyaml keeps pointers into the parser itself, so it must not move.
    parser: Box<MaybeUninit<unsafe_sys::yaml_parser_t>>,
    /// The text libyaml reads through a pointer: borrowed for as long as the parser lives.
    text: &'a str,
    /// Set once the stream ended or failed; libyaml is not called again.
    done: bool,
}

impl<'a> Events<'a> {
    /// A parser over `text`, or the error when libyaml can't start one (no memory).
    fn new(text: &'a str) -> Result<Self, YamlError> {
        let mut parser = Box::new(MaybeUninit::<unsafe_sys::yaml_parser_t>::uninit());
        let p = parser.as_mut_ptr();
        // SAFETY: `p` points to boxed memory for a parser, which `yaml_parser_initialize` fills in;
        // the input is `text`, which outlives the parser (the `'a` borrow), and is UTF-8.
        unsafe {
            if unsafe_sys::yaml_parser_initialize(p).fail {
                return Err(YamlError {
                    message: "the YAML parser could not start (out of memory)".into(),
                    span: None,
                });
            }
            unsafe_sys::yaml_parser_set_encoding(p, unsafe_sys::YAML_UTF8_ENCODING);
            unsafe_sys::yaml_parser_set_input_string(p, text.as_ptr(), text.len() as u64);
        }
        Ok(Events {
            parser,
            text,
            done: false,
        })
    }
}

impl Iterator for Events<'_> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        if self.done {
            return None;
        }
        let p = self.parser.as_mut_ptr();
        let mut event = MaybeUninit::<unsafe_sys::yaml_event_t>::uninit();
        // SAFETY: the parser was initialized in `new` and is not deleted before `drop`; a
        // successful `yaml_parser_parse` fills in the event, which is read and then deleted once.
        unsafe {
            if unsafe_sys::yaml_parser_parse(p, event.as_mut_ptr()).fail {
                self.done = true;
                return Some(Err(scan_error(&*p, self.text)));
            }
            let out = convert(event.assume_init_ref());
            unsafe_sys::yaml_event_delete(event.as_mut_ptr());
            if matches!(out.data, EventData::StreamEnd) {
                self.done = true;
            }
            Some(Ok(out))
        }
    }
}

impl Drop for Events<'_> {
    fn drop(&mut self) {
        // SAFETY: initialized in `new` (an `Events` exists only then) and deleted only here.
        unsafe { unsafe_sys::yaml_parser_delete(self.parser.as_mut_ptr()) }
    }
}

/// The parser's events over `text`, in order, ending after the first error.
pub(super) fn events(text: &str) -> Box<dyn Iterator<Item = Item> + '_> {
    match Events::new(text) {
        Ok(e) => Box::new(e),
        Err(e) => Box::new(std::iter::once(Err(e))),
    }
}

/// Files at least this large are parsed in a pipeline: the YAML scanner runs on a second thread
/// while this one builds the value and the span table (each is about half the work). Below it, a
/// thread costs more than it saves.
pub(super) const PIPELINE_BYTES: usize = 256 * 1024;
/// Events travel between the threads in batches, so the channel is not touched per event. On the
/// 10,000-service file, 4,096 ran 2-5 % faster than 1,024 and 256 slower (medians of 21, three rounds).
const BATCH: usize = 4096;

/// The receiving end of the pipeline: yields the scanner thread's events in order, and hands each
/// emptied batch back so the scanner refills memory that is already mapped and in cache (a fresh
/// batch each time cost a third of the scanner thread in page faults on a 2 MB file).
pub(super) struct Pipelined {
    pub(super) rx: std::sync::mpsc::Receiver<VecDeque<Item>>,
    pub(super) back: std::sync::mpsc::Sender<VecDeque<Item>>,
    pub(super) batch: VecDeque<Item>,
}

impl Iterator for Pipelined {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.batch.pop_front() {
                return Some(item);
            }
            let full = self.rx.recv().ok()?;
            let empty = std::mem::replace(&mut self.batch, full);
            // The scanner may have finished; then the batch is simply dropped.
            let _ = self.back.send(empty);
        }
    }
}

/// Runs the scanner over `text`, sending its events in batches until the end, an error, or until the
/// receiver hangs up (the builder stopped at a limit): no thread outlives a failed parse. Emptied
/// batches come back on `back` and are refilled.
pub(super) fn produce(
    text: &str,
    tx: std::sync::mpsc::SyncSender<VecDeque<Item>>,
    back: std::sync::mpsc::Receiver<VecDeque<Item>>,
) {
    let mut batch = VecDeque::with_capacity(BATCH);
    for item in events(text) {
        let failed = item.is_err();
        batch.push_back(item);
        if failed || batch.len() == BATCH {
            let fresh = back
                .try_recv()
                .unwrap_or_else(|_| VecDeque::with_capacity(BATCH));
            let full = std::mem::replace(&mut batch, fresh);
            if tx.send(full).is_err() || failed {
                return;
            }
        }
    }
    let _ = tx.send(batch);
}

/// Limits applied while parsing YAML, so hostile input ends quickly with an error.
#[derive(Clone, Copy, Debug)]
pub struct ParseLimits {
    /// Deepest nesting of collections.
    pub max_depth: usize,
    /// Most nodes (scalars and collections) in one document.
    pub max_nodes: usize,
    /// Most events replayed from aliases (`*ref`) in one document: the alias-bomb guard.
    pub max_alias_events: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_depth: 32,
            max_nodes: 2_000_000,
            max_alias_events: 10_000,
        }
    }
}
