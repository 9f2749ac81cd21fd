//! WSP registries (WAP-230-WSP Appendix A, Tables 38–42, and the WINA registrations), as tables
//! with lookups both ways. Sources checked: AOSP WspTypeDecoder (content types 0x00–0x54,
//! 0x0201–0x020C, 0x0300–0x031B, parameters), Wireshark packet-wsp.c (header names, app ids),
//! Kannel wsp_strings.def (encoding-version column; digest §2.3).

/// IANA MIBenum of UTF-8.
pub const CHARSET_UTF8: u32 = 106;

/// One well-known content type: its code, its name, and the first WSP encoding version whose
/// table assigns it (`None` for WINA-registered codes ≥ 0x0201, which need a Long-integer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentTypeEntry {
    pub code: u32,
    pub name: &'static str,
    pub version: Option<(u8, u8)>,
}

const V11: Option<(u8, u8)> = Some((1, 1));
const V12: Option<(u8, u8)> = Some((1, 2));
const V13: Option<(u8, u8)> = Some((1, 3));
const V14: Option<(u8, u8)> = Some((1, 4));
const V15: Option<(u8, u8)> = Some((1, 5));

macro_rules! ct {
    ($code:expr, $name:expr, $v:expr) => {
        ContentTypeEntry {
            code: $code,
            name: $name,
            version: $v,
        }
    };
}

/// Well-known content types (codes and names as in AOSP WspTypeDecoder). Encoding versions from
/// digest §2.3 where it gives them (0x2D 1.1, 0x2E–0x34 1.2, 0x36 1.3, 0x3E 1.4, 0x44 1.5); between
/// those anchors the version is interpolated (0x35 1.3, 0x37–0x43 1.4, 0x45–0x54 1.5) and is
/// UNVERIFIED against the WAP-230 table.
pub static CONTENT_TYPES: &[ContentTypeEntry] = &[
    ct!(0x00, "*/*", V11),
    ct!(0x01, "text/*", V11),
    ct!(0x02, "text/html", V11),
    ct!(0x03, "text/plain", V11),
    ct!(0x04, "text/x-hdml", V11),
    ct!(0x05, "text/x-ttml", V11),
    ct!(0x06, "text/x-vCalendar", V11),
    ct!(0x07, "text/x-vCard", V11),
    ct!(0x08, "text/vnd.wap.wml", V11),
    ct!(0x09, "text/vnd.wap.wmlscript", V11),
    ct!(0x0A, "text/vnd.wap.wta-event", V11),
    ct!(0x0B, "multipart/*", V11),
    ct!(0x0C, "multipart/mixed", V11),
    ct!(0x0D, "multipart/form-data", V11),
    ct!(0x0E, "multipart/byterantes", V11),
    ct!(0x0F, "multipart/alternative", V11),
    ct!(0x10, "application/*", V11),
    ct!(0x11, "application/java-vm", V11),
    ct!(0x12, "application/x-www-form-urlencoded", V11),
    ct!(0x13, "application/x-hdmlc", V11),
    ct!(0x14, "application/vnd.wap.wmlc", V11),
    ct!(0x15, "application/vnd.wap.wmlscriptc", V11),
    ct!(0x16, "application/vnd.wap.wta-eventc", V11),
    ct!(0x17, "application/vnd.wap.uaprof", V11),
    ct!(0x18, "application/vnd.wap.wtls-ca-certificate", V11),
    ct!(0x19, "application/vnd.wap.wtls-user-certificate", V11),
    ct!(0x1A, "application/x-x509-ca-cert", V11),
    ct!(0x1B, "application/x-x509-user-cert", V11),
    ct!(0x1C, "image/*", V11),
    ct!(0x1D, "image/gif", V11),
    ct!(0x1E, "image/jpeg", V11),
    ct!(0x1F, "image/tiff", V11),
    ct!(0x20, "image/png", V11),
    ct!(0x21, "image/vnd.wap.wbmp", V11),
    ct!(0x22, "application/vnd.wap.multipart.*", V11),
    ct!(0x23, "application/vnd.wap.multipart.mixed", V11),
    ct!(0x24, "application/vnd.wap.multipart.form-data", V11),
    ct!(0x25, "application/vnd.wap.multipart.byteranges", V11),
    ct!(0x26, "application/vnd.wap.multipart.alternative", V11),
    ct!(0x27, "application/xml", V11),
    ct!(0x28, "text/xml", V11),
    ct!(0x29, "application/vnd.wap.wbxml", V11),
    ct!(0x2A, "application/x-x968-cross-cert", V11),
    ct!(0x2B, "application/x-x968-ca-cert", V11),
    ct!(0x2C, "application/x-x968-user-cert", V11),
    ct!(0x2D, "text/vnd.wap.si", V11),
    ct!(0x2E, "application/vnd.wap.sic", V12),
    ct!(0x2F, "text/vnd.wap.sl", V12),
    ct!(0x30, "application/vnd.wap.slc", V12),
    ct!(0x31, "text/vnd.wap.co", V12),
    ct!(0x32, "application/vnd.wap.coc", V12),
    ct!(0x33, "application/vnd.wap.multipart.related", V12),
    ct!(0x34, "application/vnd.wap.sia", V12),
    ct!(0x35, "text/vnd.wap.connectivity-xml", V13),
    ct!(0x36, "application/vnd.wap.connectivity-wbxml", V13),
    ct!(0x37, "application/pkcs7-mime", V14),
    ct!(0x38, "application/vnd.wap.hashed-certificate", V14),
    ct!(0x39, "application/vnd.wap.signed-certificate", V14),
    ct!(0x3A, "application/vnd.wap.cert-response", V14),
    ct!(0x3B, "application/xhtml+xml", V14),
    ct!(0x3C, "application/wml+xml", V14),
    ct!(0x3D, "text/css", V14),
    ct!(0x3E, "application/vnd.wap.mms-message", V14),
    ct!(0x3F, "application/vnd.wap.rollover-certificate", V14),
    ct!(0x40, "application/vnd.wap.locc+wbxml", V14),
    ct!(0x41, "application/vnd.wap.loc+xml", V14),
    ct!(0x42, "application/vnd.syncml.dm+wbxml", V14),
    ct!(0x43, "application/vnd.syncml.dm+xml", V14),
    ct!(0x44, "application/vnd.syncml.notification", V15),
    ct!(0x45, "application/vnd.wap.xhtml+xml", V15),
    ct!(0x46, "application/vnd.wv.csp.cir", V15),
    ct!(0x47, "application/vnd.oma.dd+xml", V15),
    ct!(0x48, "application/vnd.oma.drm.message", V15),
    ct!(0x49, "application/vnd.oma.drm.content", V15),
    ct!(0x4A, "application/vnd.oma.drm.rights+xml", V15),
    ct!(0x4B, "application/vnd.oma.drm.rights+wbxml", V15),
    ct!(0x4C, "application/vnd.wv.csp+xml", V15),
    ct!(0x4D, "application/vnd.wv.csp+wbxml", V15),
    ct!(0x4E, "application/vnd.syncml.ds.notification", V15),
    ct!(0x4F, "audio/*", V15),
    ct!(0x50, "video/*", V15),
    ct!(0x51, "application/vnd.oma.dd2+xml", V15),
    ct!(0x52, "application/mikey", V15),
    ct!(0x53, "application/vnd.oma.dcd", V15),
    ct!(0x54, "application/vnd.oma.dcdc", V15),
    ct!(0x0201, "application/vnd.uplanet.cacheop-wbxml", None),
    ct!(0x0202, "application/vnd.uplanet.signal", None),
    ct!(0x0203, "application/vnd.uplanet.alert-wbxml", None),
    ct!(0x0204, "application/vnd.uplanet.list-wbxml", None),
    ct!(0x0205, "application/vnd.uplanet.listcmd-wbxml", None),
    ct!(0x0206, "application/vnd.uplanet.channel-wbxml", None),
    ct!(
        0x0207,
        "application/vnd.uplanet.provisioning-status-uri",
        None
    ),
    ct!(0x0208, "x-wap.multipart/vnd.uplanet.header-set", None),
    ct!(0x0209, "application/vnd.uplanet.bearer-choice-wbxml", None),
    ct!(0x020A, "application/vnd.phonecom.mmc-wbxml", None),
    ct!(0x020B, "application/vnd.nokia.syncset+wbxml", None),
    ct!(0x020C, "image/x-up-wpng", None),
    ct!(0x0300, "application/iota.mmc-wbxml", None),
    ct!(0x0301, "application/iota.mmc-xml", None),
    ct!(0x0302, "application/vnd.syncml+xml", None),
    ct!(0x0303, "application/vnd.syncml+wbxml", None),
    ct!(0x0304, "text/vnd.wap.emn+xml", None),
    ct!(0x0305, "text/calendar", None),
    ct!(0x0306, "application/vnd.omads-email+xml", None),
    ct!(0x0307, "application/vnd.omads-file+xml", None),
    ct!(0x0308, "application/vnd.omads-folder+xml", None),
    ct!(0x0309, "text/directory;profile=vCard", None),
    ct!(0x030A, "application/vnd.wap.emn+wbxml", None),
    ct!(0x030B, "application/vnd.nokia.ipdc-purchase-response", None),
    ct!(0x030C, "application/vnd.motorola.screen3+xml", None),
    ct!(0x030D, "application/vnd.motorola.screen3+gzip", None),
    ct!(0x030E, "application/vnd.cmcc.setting+wbxml", None),
    ct!(0x030F, "application/vnd.cmcc.bombing+wbxml", None),
    ct!(0x0310, "application/vnd.docomo.pf", None),
];

pub fn content_type_by_code(code: u32) -> Option<&'static ContentTypeEntry> {
    CONTENT_TYPES.iter().find(|e| e.code == code)
}

/// Case-insensitive, as MIME types are (RFC 2045 §5.1).
pub fn content_type_by_name(name: &str) -> Option<&'static ContentTypeEntry> {
    CONTENT_TYPES
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(name))
}

/// Header field names, code page 1 (WAP-230 Table 39), index = code 0x00–0x4A. Codes that were
/// reassigned in later versions (Cache-Control 0x08/0x3D/0x47 ...) keep one name each.
pub static HEADER_NAMES: &[&str] = &[
    "Accept",               // 0x00
    "Accept-Charset",       // 0x01
    "Accept-Encoding",      // 0x02
    "Accept-Language",      // 0x03
    "Accept-Ranges",        // 0x04
    "Age",                  // 0x05
    "Allow",                // 0x06
    "Authorization",        // 0x07
    "Cache-Control",        // 0x08
    "Connection",           // 0x09
    "Content-Base",         // 0x0A
    "Content-Encoding",     // 0x0B
    "Content-Language",     // 0x0C
    "Content-Length",       // 0x0D
    "Content-Location",     // 0x0E
    "Content-MD5",          // 0x0F
    "Content-Range",        // 0x10
    "Content-Type",         // 0x11
    "Date",                 // 0x12
    "Etag",                 // 0x13
    "Expires",              // 0x14
    "From",                 // 0x15
    "Host",                 // 0x16
    "If-Modified-Since",    // 0x17
    "If-Match",             // 0x18
    "If-None-Match",        // 0x19
    "If-Range",             // 0x1A
    "If-Unmodified-Since",  // 0x1B
    "Location",             // 0x1C
    "Last-Modified",        // 0x1D
    "Max-Forwards",         // 0x1E
    "Pragma",               // 0x1F
    "Proxy-Authenticate",   // 0x20
    "Proxy-Authorization",  // 0x21
    "Public",               // 0x22
    "Range",                // 0x23
    "Referer",              // 0x24
    "Retry-After",          // 0x25
    "Server",               // 0x26
    "Transfer-Encoding",    // 0x27
    "Upgrade",              // 0x28
    "User-Agent",           // 0x29
    "Vary",                 // 0x2A
    "Via",                  // 0x2B
    "Warning",              // 0x2C
    "WWW-Authenticate",     // 0x2D
    "Content-Disposition",  // 0x2E
    "X-Wap-Application-Id", // 0x2F
    "X-Wap-Content-URI",    // 0x30
    "X-Wap-Initiator-URI",  // 0x31
    "Accept-Application",   // 0x32
    "Bearer-Indication",    // 0x33
    "Push-Flag",            // 0x34
    "Profile",              // 0x35
    "Profile-Diff",         // 0x36
    "Profile-Warning",      // 0x37
    "Expect",               // 0x38
    "TE",                   // 0x39
    "Trailer",              // 0x3A
    "Accept-Charset",       // 0x3B (1.3 encoding)
    "Accept-Encoding",      // 0x3C (1.3 encoding)
    "Cache-Control",        // 0x3D (1.3 encoding)
    "Content-Range",        // 0x3E (1.3 encoding)
    "X-Wap-Tod",            // 0x3F
    "Content-ID",           // 0x40
    "Set-Cookie",           // 0x41
    "Cookie",               // 0x42
    "Encoding-Version",     // 0x43
    "Profile-Warning",      // 0x44 (1.4 encoding)
    "Content-Disposition",  // 0x45 (1.4 encoding)
    "X-WAP-Security",       // 0x46
    "Cache-Control",        // 0x47 (1.4 encoding)
    "Expect",               // 0x48 (1.5 encoding)
    "X-Wap-Loc-Invocation", // 0x49
    "X-Wap-Loc-Delivery",   // 0x4A
];

pub fn header_name(code: u8) -> Option<&'static str> {
    HEADER_NAMES.get(usize::from(code)).copied()
}

/// The first (lowest, most widely understood) code of a header name, case-insensitively.
pub fn header_code(name: &str) -> Option<u8> {
    HEADER_NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(name))
        .map(|i| i as u8)
}

/// X-Wap-Application-Id registry (digest §2.5; Wireshark vals_wap_application_ids, Kannel).
pub static APPLICATION_IDS: &[(u32, &str)] = &[
    (0x00, "x-wap-application:*"),
    (0x01, "x-wap-application:push.sia"),
    (0x02, "x-wap-application:wml.ua"),
    (0x03, "x-wap-application:wta.ua"),
    (0x04, "x-wap-application:mms.ua"),
    (0x05, "x-wap-application:push.syncml"),
    (0x06, "x-wap-application:loc.ua"),
    (0x07, "x-wap-application:syncml.dm"),
    (0x08, "x-wap-application:drm.ua"),
    (0x09, "x-wap-application:emn.ua"),
    (0x0A, "x-wap-application:wv.ua"),
    (0x8000, "x-wap-microsoft:localcontent.ua"),
    (0x8001, "x-wap-microsoft:IMclient.ua"),
    (0x8002, "x-wap-docomo:imode.mail.ua"),
    (0x8003, "x-wap-docomo:imode.mr.ua"),
    (0x8004, "x-wap-docomo:imode.mf.ua"),
    (0x8005, "x-motorola:location.ua"),
    (0x8006, "x-motorola:now.ua"),
    (0x8007, "x-motorola:otaprov.ua"),
    (0x8008, "x-motorola:browser.ua"),
    (0x8009, "x-motorola:splash.ua"),
    (0x800B, "x-wap-nai:mvsw.command"),
    (0x8010, "x-wap-openwave:iota.ua"),
    (0x9000, "x-wap-docomo:imode.mail2.ua"),
    (0x9001, "x-oma-nec:otaprov.ua"),
    (0x9002, "x-oma-nokia:call.ua"),
    (0x9003, "x-oma-coremobility:sqa.ua"),
];

pub fn app_id_urn(code: u32) -> Option<&'static str> {
    APPLICATION_IDS.iter().find(|e| e.0 == code).map(|e| e.1)
}

pub fn app_id_code(urn: &str) -> Option<u32> {
    APPLICATION_IDS
        .iter()
        .find(|e| e.1.eq_ignore_ascii_case(urn))
        .map(|e| e.0)
}

/// Well-known parameters (WAP-230 Table 38): code and name. Several names were re-assigned new
/// codes in 1.4 (0x17–0x1D, Text-string values); both codes are kept.
pub static PARAMETERS: &[(u8, &str)] = &[
    (0x00, "q"),
    (0x01, "charset"),
    (0x02, "level"),
    (0x03, "type"),
    (0x05, "name"),
    (0x06, "filename"),
    (0x07, "differences"),
    (0x08, "padding"),
    (0x09, "type"),
    (0x0A, "start"),
    (0x0B, "start-info"),
    (0x0C, "comment"),
    (0x0D, "domain"),
    (0x0E, "max-age"),
    (0x0F, "path"),
    (0x10, "secure"),
    (0x11, "sec"),
    (0x12, "mac"),
    (0x13, "creation-date"),
    (0x14, "modification-date"),
    (0x15, "read-date"),
    (0x16, "size"),
    (0x17, "name"),
    (0x18, "filename"),
    (0x19, "start"),
    (0x1A, "start-info"),
    (0x1B, "comment"),
    (0x1C, "domain"),
    (0x1D, "path"),
];

pub fn parameter_name(code: u8) -> Option<&'static str> {
    PARAMETERS.iter().find(|e| e.0 == code).map(|e| e.1)
}

/// The code we emit for a parameter name: the 1.1–1.3 codes (understood by more handsets than
/// the 1.4 re-assignments). `type` maps to 0x09 (multipart/related type, a text value).
pub fn parameter_code(name: &str) -> Option<u8> {
    if name.eq_ignore_ascii_case("type") {
        return Some(0x09);
    }
    PARAMETERS
        .iter()
        .find(|e| e.1.eq_ignore_ascii_case(name))
        .map(|e| e.0)
}

/// Character sets by IANA MIBenum (the values Encoded-string-value and `charset` carry).
pub static CHARSETS: &[(u32, &str)] = &[
    (0, "*"),
    (3, "us-ascii"),
    (4, "iso-8859-1"),
    (5, "iso-8859-2"),
    (6, "iso-8859-3"),
    (7, "iso-8859-4"),
    (8, "iso-8859-5"),
    (9, "iso-8859-6"),
    (10, "iso-8859-7"),
    (11, "iso-8859-8"),
    (12, "iso-8859-9"),
    (17, "shift_jis"),
    (39, "iso-2022-jp"),
    (106, "utf-8"),
    (1000, "iso-10646-ucs-2"),
    (1015, "utf-16"),
    (2026, "big5"),
    (2252, "windows-1252"),
    (113, "gbk"),
    (2025, "gb2312"),
];

pub fn charset_name(mib: u32) -> Option<&'static str> {
    CHARSETS.iter().find(|e| e.0 == mib).map(|e| e.1)
}

pub fn charset_mib(name: &str) -> Option<u32> {
    let name = name.trim();
    if name.eq_ignore_ascii_case("utf8") {
        return Some(106);
    }
    if name.eq_ignore_ascii_case("ucs-2") || name.eq_ignore_ascii_case("ucs2") {
        return Some(1000);
    }
    if name.eq_ignore_ascii_case("latin1") {
        return Some(4);
    }
    CHARSETS
        .iter()
        .find(|e| e.1.eq_ignore_ascii_case(name))
        .map(|e| e.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_look_up_both_ways() {
        for e in CONTENT_TYPES {
            assert_eq!(content_type_by_name(e.name).map(|x| x.code), Some(e.code));
        }
        assert_eq!(content_type_by_code(0x3E).unwrap().version, Some((1, 4)));
        assert_eq!(header_code("x-wap-application-id"), Some(0x2F));
        assert_eq!(header_name(0x43), Some("Encoding-Version"));
        assert_eq!(HEADER_NAMES.len(), 0x4B);
        assert_eq!(app_id_code("X-WAP-APPLICATION:MMS.UA"), Some(4));
        assert_eq!(app_id_urn(0x8002), Some("x-wap-docomo:imode.mail.ua"));
        assert_eq!(charset_mib("UTF-8"), Some(106));
        assert_eq!(charset_name(1000), Some("iso-10646-ucs-2"));
        assert_eq!(parameter_code("charset"), Some(1));
        assert_eq!(parameter_name(0x0A), Some("start"));
    }
}
