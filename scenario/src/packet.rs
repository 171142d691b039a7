//! packetdrill's packet lines (`S 0:0(0) win 65535 <mss 1460>`, `F. 1:1(0)
//! ack 1`): the one grammar of a segment written as text, read by
//! `tcpsim packetdrill`'s script parser (its `<` and `>` lines) and by the
//! scenario step `inject S PKT`.
//!
//! The grammar follows google/packetdrill `gtests/net/packetdrill/parser.y`
//! (`packet_spec`, `tcp_packet_spec`, `tcp_option`).

use model::{Flags, RawSeg};
use winnow::ascii::{digit1, hex_digit1, space0, space1};
use winnow::combinator::{alt, cut_err, delimited, opt, preceded, repeat, separated};
use winnow::error::{ErrMode, StrContext, StrContextValue};
use winnow::prelude::*;
use winnow::token::{take_till, take_while};

type In<'a> = &'a str;

/// `<` the script's peer sends; `>` the endpoint under test must send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Inbound,
    Outbound,
}

/// A TCP option in `<…>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpOpt {
    Mss(u16),
    SackOk,
    Nop,
    Eol,
    Wscale(u8),
    Ts {
        val: u32,
        ecr: u32,
    },
    Sack(Vec<(u32, u32)>),
    /// Anything else (`FOEXP`, `md5`, …), as written.
    Other(String),
}

/// A segment line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub dir: Dir,
    /// The flag letters as written (`S.`, `F.`, `R`, `P.`); `.` is ACK.
    pub flags: String,
    /// `start:end`, relative to the sender's ISN; `None` for `...(len)` (any).
    pub seq: Option<(u32, u32)>,
    pub len: u32,
    pub ack: Option<u32>,
    pub win: Option<u32>,
    /// `None` for `<...>` (any options); `Some(empty)` when none are written.
    pub opts: Option<Vec<TcpOpt>>,
    /// `(ttl N)`, `(tos 0x28)`: IP header fields, as written.
    pub ip: Vec<String>,
    /// `/udp(SPORT > DPORT)`: UDP encapsulation (nplab/packetdrill), as written.
    pub encap: Option<String>,
    /// `!` after the length (nplab/packetdrill's mark on a packet).
    pub bang: bool,
}

pub fn label(s: &'static str) -> StrContext {
    StrContext::Expected(StrContextValue::Description(s))
}

pub fn uint(i: &mut In) -> ModalResult<u32> {
    alt((
        preceded(alt(("0x", "0X")), hex_digit1).try_map(|h| u32::from_str_radix(h, 16)),
        digit1.try_map(str::parse::<u32>),
    ))
    .context(label("a number"))
    .parse_next(i)
}

pub fn packet(i: &mut In) -> ModalResult<Packet> {
    let dir = alt(('<'.value(Dir::Inbound), '>'.value(Dir::Outbound))).parse_next(i)?;
    let mut ip = Vec::new();
    while let Some(f) =
        opt(preceded(space0, delimited('(', take_till(1.., ')'), ')'))).parse_next(i)?
    {
        ip.push(f.trim().to_string());
    }
    space0.parse_next(i)?;
    let flags = cut_err(take_while(1.., |c: char| "SFRP.EWU".contains(c)))
        .context(label("TCP flags (`S`, `S.`, `F.`, `R`, `P.`, `.`)"))
        .parse_next(i)?
        .to_string();
    space1.parse_next(i)?;
    let seq = cut_err(alt((
        "...".value(None),
        (uint, ':', uint).map(|(a, _, b)| Some((a, b))),
    )))
    .context(label("`start:end(len)`"))
    .parse_next(i)?;
    let len = cut_err(delimited('(', uint, ')'))
        .context(label("`(len)`"))
        .parse_next(i)?;
    let mut p = Packet {
        dir,
        flags,
        seq,
        len,
        ack: None,
        win: None,
        opts: Some(Vec::new()),
        ip,
        encap: None,
        bang: false,
    };
    p.bang = opt('!').parse_next(i)?.is_some();
    loop {
        space0.parse_next(i)?;
        if opt("ack").parse_next(i)?.is_some() {
            p.ack = Some(cut_err(preceded(space1, uint)).parse_next(i)?);
        } else if opt("win").parse_next(i)?.is_some() {
            p.win = Some(cut_err(preceded(space1, uint)).parse_next(i)?);
        } else if opt('<').parse_next(i)?.is_some() {
            p.opts = cut_err(tcp_opts).parse_next(i)?;
            cut_err('>')
                .context(label("`>` closing the options"))
                .parse_next(i)?;
        } else if opt('/').parse_next(i)?.is_some() {
            p.encap = Some(take_till(1.., ')').parse_next(i)?.to_string() + ")");
            cut_err(')').parse_next(i)?;
        } else {
            return Ok(p);
        }
    }
}

/// The inside of `<…>`: `...` or options separated by commas.
fn tcp_opts(i: &mut In) -> ModalResult<Option<Vec<TcpOpt>>> {
    let any = opt((space0, "...", space0)).parse_next(i)?;
    if any.is_some() {
        return Ok(None);
    }
    let opts = separated(0.., delimited(space0, tcp_opt, space0), ',').parse_next(i)?;
    Ok(Some(opts))
}

fn tcp_opt(i: &mut In) -> ModalResult<TcpOpt> {
    let word = take_while(1.., |c: char| c.is_ascii_alphanumeric() || c == '_')
        .context(label(
            "a TCP option (`mss N`, `nop`, `wscale N`, `sackOK`, `TS val N ecr N`, `eol`)",
        ))
        .parse_next(i)?;
    Ok(match word {
        "mss" => TcpOpt::Mss(preceded(space1, uint).parse_next(i)? as u16),
        "wscale" => TcpOpt::Wscale(preceded(space1, uint).parse_next(i)? as u8),
        "sackOK" => TcpOpt::SackOk,
        "nop" => TcpOpt::Nop,
        "eol" => TcpOpt::Eol,
        "TS" => {
            let (_, _, _, val, _, _, _, ecr) =
                (space1, "val", space1, uint, space1, "ecr", space1, uint).parse_next(i)?;
            TcpOpt::Ts { val, ecr }
        }
        "sack" => {
            let blocks =
                repeat(1.., (space1, uint, ':', uint).map(|(_, a, _, b)| (a, b))).parse_next(i)?;
            TcpOpt::Sack(blocks)
        }
        other => {
            let rest = take_till(0.., [',', '>']).parse_next(i)?;
            TcpOpt::Other(format!("{other}{rest}").trim().to_string())
        }
    })
}

/// The flags of a packet line (`S.` is SYN and ACK).
pub fn flags(p: &Packet) -> Flags {
    let mut f = Flags::NONE;
    for c in p.flags.chars() {
        f = f | match c {
            'S' => Flags::SYN,
            'F' => Flags::FIN,
            'R' => Flags::RST,
            'P' => Flags::PSH,
            '.' => Flags::ACK,
            _ => Flags::NONE,
        };
    }
    f
}

/// Why a packet line asks for something the model does not carry, if it does
/// (the packetdrill runner reports the line unsupported; a scenario refuses it).
pub fn unsupported(p: &Packet) -> Option<String> {
    if let Some(c) = p.flags.chars().find(|c| "EWU".contains(*c)) {
        return Some(format!("TCP flag `{c}` (ECN, URG) is not modelled"));
    }
    if p.bang {
        return Some(
            "the `!` mark after a segment's length (nplab/packetdrill) is not supported".into(),
        );
    }
    if let Some(e) = &p.encap {
        return Some(format!("encapsulation `/{e}` is not modelled"));
    }
    if p.dir == Dir::Outbound && !p.ip.is_empty() {
        return Some(format!(
            "checking IP header fields `({})` is not modelled",
            p.ip.join(", ")
        ));
    }
    p.opts.iter().flatten().find_map(|o| match o {
        TcpOpt::Other(s) => Some(option_unsupported(s)),
        TcpOpt::Sack(_) if p.dir == Dir::Inbound => Some(
            "TCP option `sack` is not modelled: the model keeps no SACK scoreboard (RFC 2018)"
                .into(),
        ),
        _ => None,
    })
}

/// Why a TCP option the grammar reads but the model does not carry is
/// unsupported, by what it is for.
fn option_unsupported(o: &str) -> String {
    let why = match o.split_whitespace().next().unwrap_or_default() {
        // packetdrill's `FO` (RFC 7413, kind 34) and `FOEXP` (the experimental
        // kind 254 with magic 0xF989) carry a fast open cookie.
        "FO" | "FOEXP" => {
            "TCP fast open (RFC 7413) is not modelled: no cookies, and a SYN's data waits for the handshake"
        }
        "md5" => "TCP-MD5 signatures (RFC 2385) are not modelled",
        _ => "the model does not carry it",
    };
    format!("TCP option `{o}`: {why}")
}

/// A packet line that did not read (what was expected at the byte offset
/// `at`), or that asks for what the model does not carry (why).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketError {
    pub at: usize,
    pub expected: String,
    /// The line reads, but an injected segment cannot be what it says.
    pub unsupported: bool,
}

/// Reads a whole packet line without its direction (`F. 1:1(0) ack 1`), as
/// `inject` takes it, into the segment it stands for.
pub fn raw_seg(text: &str) -> Result<RawSeg, PacketError> {
    let p = read_line(text, '<')?;
    to_raw(&p).map_err(|why| PacketError {
        at: 0,
        expected: why,
        unsupported: true,
    })
}

/// Reads a whole packet line without its direction, as an `expect` step
/// takes it: what a raw host must receive next (`...` and `<...>` allowed).
pub fn expected_seg(text: &str) -> Result<Packet, PacketError> {
    let p = read_line(text, '>')?;
    match unsupported(&p) {
        Some(why) => Err(PacketError {
            at: 0,
            expected: why,
            unsupported: true,
        }),
        None => Ok(p),
    }
}

/// A line in direction `dir` (`<` or `>`), read whole.
fn read_line(text: &str, dir: char) -> Result<Packet, PacketError> {
    let line = format!("{dir}{text}");
    let mut input: In = &line;
    let at = |rest: In| (line.len() - rest.len()).saturating_sub(1);
    let p = match packet.parse_next(&mut input) {
        Ok(p) => p,
        Err(ErrMode::Backtrack(e) | ErrMode::Cut(e)) => {
            let expected = e
                .context()
                .find_map(|c| match c {
                    StrContext::Expected(v) => Some(v.to_string()),
                    _ => None,
                })
                .unwrap_or_else(|| "a packet line (`F. 1:1(0) ack 1`)".into());
            return Err(PacketError {
                at: at(input),
                expected,
                unsupported: false,
            });
        }
        Err(ErrMode::Incomplete(_)) => {
            return Err(PacketError {
                at: text.len(),
                expected: "the rest of the packet line".into(),
                unsupported: false,
            })
        }
    };
    if !input.trim().is_empty() {
        return Err(PacketError {
            at: at(input.trim_start()),
            expected: "`ack N`, `win N`, `<options>` or the end of the step".into(),
            unsupported: false,
        });
    }
    Ok(p)
}

/// The segment a parsed line stands for; why not, when it asks for what an
/// injected segment cannot be.
fn to_raw(p: &Packet) -> Result<RawSeg, String> {
    if let Some(reason) = unsupported(p) {
        return Err(reason);
    }
    if !p.ip.is_empty() {
        return Err(format!(
            "IP header fields `({})` are not modelled",
            p.ip.join(", ")
        ));
    }
    let Some((start, end)) = p.seq else {
        return Err(
            "a sequence range `start:end(len)`: `...` (any) is for matching, not sending".into(),
        );
    };
    if end.wrapping_sub(start) != p.len {
        return Err(format!(
            "`{start}:{end}({})`: end - start must be the length",
            p.len
        ));
    }
    let Some(opts) = &p.opts else {
        return Err("options as a list (`<mss 1460>`): `<...>` (any) is for matching".into());
    };
    let mut raw = RawSeg {
        flags: flags(p),
        seq: start,
        len: p.len,
        ack: p.ack,
        win: p.win,
        mss: None,
        ts: false,
    };
    for o in opts {
        match o {
            TcpOpt::Mss(m) => raw.mss = Some(*m),
            TcpOpt::Ts { .. } => raw.ts = true,
            TcpOpt::Nop | TcpOpt::Eol | TcpOpt::SackOk => {}
            TcpOpt::Wscale(_) => {
                return Err(
                    "window scaling is not modelled (windows are octets): drop `wscale`".into(),
                )
            }
            TcpOpt::Sack(_) | TcpOpt::Other(_) => unreachable!("refused by `unsupported`"),
        }
    }
    Ok(raw)
}

/// The expected segment a `>` line (or an `expect` step) stands for; its
/// `win` is read with the sender's window shift `win_shift`.
pub fn pattern(p: &Packet, win_shift: u8) -> sim::segmatch::SegPattern {
    let opts = p.opts.as_ref().map(|opts| sim::segmatch::OptPattern {
        mss: opts.iter().find_map(|o| match o {
            TcpOpt::Mss(m) => Some(*m),
            _ => None,
        }),
        ts: opts.iter().any(|o| matches!(o, TcpOpt::Ts { .. })),
    });
    sim::segmatch::SegPattern {
        flags: flags(p),
        seq: p.seq.map(|(s, _)| s),
        len: p.len,
        ack: p.ack,
        win: p.win.map(|w| (w, win_shift)),
        opts,
    }
}
