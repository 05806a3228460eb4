//! Everything on its way out of the process — a record, a manifest, a
//! report, a terminal line — passes here: secrets taken out in every
//! spelling a run can know (before anything is cut, so no prefix survives),
//! lengths bounded, control characters made visible.
//!
//! A secret is hidden two ways: by value (the API key, URL passwords,
//! credential headers, with their JSON-escaped and Basic base64 forms, as a
//! server may echo them) and by shape (`user:pass@` in a URL, `Basic` and
//! `Bearer` credentials, `--api-key` style words in a command), so one the
//! run was never told of is hidden too.

pub(crate) mod encoding;
mod url;

use encoding::{base64_decode, base64_encode, percent_decode};
use url::{query_hidden, userinfo, userinfo_hidden};

const HIDDEN: &str = "***";
const REDACTED: &str = "<redacted>";

/// The secret values one client or run knows of, longest first so that a
/// secret containing another is replaced whole.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    values: Vec<String>,
}

impl Secrets {
    /// What a client sends: its key, credential headers, and the URL's userinfo.
    pub fn of_client<'a>(
        base_url: &str,
        headers: impl IntoIterator<Item = (&'a String, &'a String)>,
        api_key: Option<&str>,
    ) -> Self {
        let mut s = Secrets::default();
        if let Some(k) = api_key {
            s.add(k);
        }
        for (name, value) in headers {
            s.add_header(name, value);
        }
        s.add_url(base_url);
        s
    }

    /// Add `value` and the forms a server may echo it in.
    pub fn add(&mut self, value: &str) {
        // Shorter values would hide ordinary words of every text.
        if value.chars().count() < 4 {
            return;
        }
        let escaped = serde_json::to_string(value).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        for v in [value, escaped] {
            if !self.values.iter().any(|x| x == v) {
                self.values.push(v.to_string());
            }
        }
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// A header's value, when the header is named like a credential; its
    /// token alone too, in case the server echoes only that.
    pub fn add_header(&mut self, name: &str, value: &str) {
        if !secret_name(name) {
            return;
        }
        self.add(value);
        if let Some((scheme, token)) = value.split_once(' ') {
            self.add(token.trim());
            if scheme.eq_ignore_ascii_case("basic") {
                if let Some(plain) = base64_decode(token.trim()) {
                    if let Some((_, pass)) = plain.split_once(':') {
                        self.add(pass);
                    }
                }
            }
        }
    }

    /// A URL's credentials: its userinfo (the password, or the user where
    /// there is no password: a token), the Basic credential it becomes, and
    /// query values named like a credential (`?api_key=…`).
    pub fn add_url(&mut self, url: &str) {
        let Some(parsed) = reqwest::Url::parse(url.trim()).ok().or_else(|| {
            // Whatever the parser refuses is still hidden by its shape.
            let (u, p) = userinfo(url)?;
            reqwest::Url::parse(&format!("http://{u}:{p}@h")).ok()
        }) else {
            return;
        };
        let (user, pass) = (parsed.username(), parsed.password().unwrap_or_default());
        let secret = if pass.is_empty() { user } else { pass };
        if !secret.is_empty() {
            self.add(secret);
            self.add(&percent_decode(secret));
            let (user, pass) = (percent_decode(user), percent_decode(pass));
            self.add(&base64_encode(format!("{user}:{pass}").as_bytes()));
        }
        for (name, value) in parsed.query_pairs() {
            if secret_name(&name) {
                self.add(&value);
            }
        }
    }

    /// The values a launch command hides (`--api-key X`, `--hf-token=X`,
    /// `SECRET=X`, inside an `sh -c` string too), as its server may echo them.
    pub fn add_command(&mut self, argv: &[String]) {
        for value in words(argv).1 {
            self.add(&value);
        }
    }

    /// `text` with every known secret and every secret-shaped span hidden.
    pub fn scrub(&self, text: &mut String) {
        self.scrub_as(text, HIDDEN);
    }

    /// As [`Secrets::scrub`], a known secret's value replaced by `with`.
    fn scrub_as(&self, text: &mut String, with: &str) {
        for v in &self.values {
            if text.contains(v.as_str()) {
                *text = text.replace(v.as_str(), with);
            }
        }
        if let std::borrow::Cow::Owned(s) = shapes(text) {
            *text = s;
        }
    }
}

/// An experiment's text as it may be copied into a run folder: the base
/// URL's password and the values of credential-named headers and server
/// environment variables hidden (the hash of the original still tells
/// `reproduce` whether the file changed).
pub fn source<'a>(
    text: &str,
    base_url: Option<&str>,
    named: impl IntoIterator<Item = (&'a String, &'a String)>,
    values: &[String],
    commands: impl IntoIterator<Item = &'a str>,
) -> String {
    let mut out = text.to_string();
    let mut secrets = Secrets::of_client(base_url.unwrap_or_default(), named, None);
    for v in values {
        secrets.add(v);
    }
    for command in commands {
        let argv = shlex::split(command).unwrap_or_default();
        for value in words(&argv).1 {
            secrets.add(&value);
        }
    }
    // `***` where a whole YAML value was would read as an alias, and the
    // copy would no longer load: the placeholder keeps it a plain string.
    secrets.scrub_as(&mut out, REDACTED);
    out
}

/// A header, flag or variable name that says its value is a credential.
pub fn secret_name(name: &str) -> bool {
    let n = name.trim_start_matches('-').to_ascii_lowercase();
    [
        "key",
        "token",
        "secret",
        "password",
        "passwd",
        "auth",
        "credential",
        "cookie",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// `url` as it may be stored or printed: a userinfo password hidden.
pub fn url(url: &str) -> String {
    let mut secrets = Secrets::default();
    secrets.add_url(url);
    let mut out = url.to_string();
    secrets.scrub(&mut out);
    out
}

/// Secret-shaped spans of `text` hidden whatever their value: URL userinfo
/// passwords and `Basic`/`Bearer` credentials.
pub fn shapes(text: &str) -> std::borrow::Cow<'_, str> {
    let mut out = userinfo_hidden(text);
    if let Some(hidden) = query_hidden(&out) {
        out = hidden.into();
    }
    for scheme in ["Basic ", "Bearer "] {
        if out.contains(scheme) {
            out = credential_hidden(&out, scheme).into();
        }
    }
    out
}

/// `scheme` followed by a token: the token becomes `***`.
fn credential_hidden(text: &str, scheme: &str) -> String {
    let token = |c: char| c.is_ascii_alphanumeric() || "+/=-._~".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(scheme) {
        let after = at + scheme.len();
        out.push_str(&rest[..after]);
        let tail = &rest[after..];
        let len = tail.find(|c: char| !token(c)).unwrap_or(tail.len());
        // A Basic credential is one that decodes to `user:password` (not
        // the `Basic realm=` of a challenge, nor prose).
        let is_basic =
            scheme == "Basic " && base64_decode(&tail[..len]).is_some_and(|p| p.contains(':'));
        if len > 0 && (scheme == "Bearer " || is_basic) {
            out.push_str(HIDDEN);
        } else {
            out.push_str(&tail[..len]);
        }
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// A launch command as it may be stored or printed: the values of flags and
/// variables named like a credential (`--api-key X`, `--hf-token=X`,
/// `SECRET=X`) hidden, inside a word that holds several (`sh -c "… --api-key X"`) too.
pub fn command(argv: &[String]) -> String {
    let (out, hidden) = words(argv);
    let mut text =
        shlex::try_join(out.iter().map(String::as_str)).unwrap_or_else(|_| out.join(" "));
    // A hidden value said again elsewhere (`echo $TOKEN`-like scripts, a
    // second flag) is hidden there too.
    let mut known = Secrets::default();
    for value in &hidden {
        known.add(value);
    }
    known.scrub_as(&mut text, REDACTED);
    text
}

/// The words redacted, and the values hidden (so a text quoting the
/// command, as an experiment file does, can be scrubbed of them).
fn words(argv: &[String]) -> (Vec<String>, Vec<String>) {
    let mut out = Vec::with_capacity(argv.len());
    let mut hidden = Vec::new();
    let mut hide_next = false;
    for arg in argv {
        // A flag's value never starts a new long flag: `--api-key --host`
        // lacks the value, and `--host` is shown.
        if std::mem::take(&mut hide_next) && !arg.starts_with("--") {
            let (value, end) = shell_end(arg);
            out.push(format!("{REDACTED}{end}"));
            hidden.push(value.to_string());
        } else if arg.contains(char::is_whitespace) {
            let (word, inside) = inner(arg);
            out.push(word);
            hidden.extend(inside);
        } else if let Some((name, value)) = arg.split_once('=').filter(|(n, _)| secret_name(n)) {
            let (value, end) = shell_end(value);
            out.push(format!("{name}={REDACTED}{end}"));
            hidden.push(value.to_string());
        } else {
            hide_next = arg.starts_with('-') && secret_name(arg);
            out.push(arg.clone());
        }
    }
    (out, hidden)
}

/// A word of a shell script split as the shell does not: `KEY;` is the
/// value `KEY` and the operator `;`.
fn shell_end(word: &str) -> (&str, &str) {
    let value = word.trim_end_matches([';', '&', '|', ')']);
    (value, &word[value.len()..])
}

/// One word holding several (a shell string, or a flag and its value
/// quoted together), redacted word by word.
fn inner(word: &str) -> (String, Vec<String>) {
    let parts =
        shlex::split(word).unwrap_or_else(|| word.split_whitespace().map(str::to_string).collect());
    // Joined plainly: the outer join quotes the word once, as it was given.
    let (out, hidden) = words(&parts);
    (out.join(" "), hidden)
}

/// Cut `text` to at most `max` characters (on a character boundary),
/// marking the cut.
pub fn truncate(text: &mut String, max: usize) {
    if let Some((at, _)) = text.char_indices().nth(max) {
        text.truncate(at);
        text.push('…');
    }
}

/// `text` safe to print on a terminal: control characters (an escape
/// sequence could move the cursor, retitle the window or hide output)
/// written as `\u{1b}`, line breaks as `\n`.
pub fn for_terminal(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| match c {
            '\n' => "\\n".to_string(),
            '\r' => "\\r".to_string(),
            '\t' => " ".to_string(),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_goes_before_the_cut() {
        let mut s = format!("{}sk-secret-123 echoed", "x".repeat(8));
        let mut secrets = Secrets::default();
        secrets.add("sk-secret-123");
        secrets.scrub(&mut s);
        truncate(&mut s, 10);
        assert_eq!(s, "xxxxxxxx**…");
        let mut t = "ünïcödé".to_string();
        truncate(&mut t, 3);
        assert_eq!(t, "ünï…");
        let mut short = "ok".to_string();
        truncate(&mut short, 3);
        assert_eq!(short, "ok");
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_url_keeps_its_user_and_loses_its_password() {
        assert_eq!(url("http://bob:p%40ss@h:8/v1"), "http://bob:***@h:8/v1");
        // A user with no password is a token (Basic user, or an API key).
        assert_eq!(url("http://sk-live-TOKEN99@h/v1"), "http://***@h/v1");
        assert_eq!(url("http://h/v1?a=b@c"), "http://h/v1?a=b@c");
        // What a URL parser takes, the redactor does: a space in the password.
        assert_eq!(url("http://u:pass word99@h:9/v1"), "http://u:***@h:9/v1");
        assert_eq!(
            url("http://u:secretpw99@h:99999/v1"),
            "http://u:***@h:99999/v1"
        );
        // Query values named like a credential, others kept.
        assert_eq!(
            url("http://h/v1?api-version=2&api_key=QS77&token=t0k"),
            "http://h/v1?api-version=2&api_key=***&token=***"
        );
        let mut t = "error sending request for url (http://u:pw1234@[::1]:9/v1/completions)".into();
        Secrets::default().scrub(&mut t);
        assert_eq!(
            t,
            "error sending request for url (http://u:***@[::1]:9/v1/completions)"
        );
    }

    #[test]
    fn a_query_key_echoed_in_any_text_is_hidden_by_value_too() {
        let s = Secrets::of_client("http://h/v1?api_key=QUERYSECRET77", [], None);
        let mut t = "bad key QUERYSECRET77 at /v1/completions?api_key=QUERYSECRET77".to_string();
        s.scrub(&mut t);
        assert_eq!(t, "bad key *** at /v1/completions?api_key=***");
    }

    #[test]
    fn an_experiment_copy_stays_yaml_where_a_whole_value_is_hidden() {
        let text = "target:\n  headers: {X-Api-Key: abcdef123}\n  server:\n    env:\n      HF_TOKEN: hf-xyz-123\n";
        let named = [("X-Api-Key", "abcdef123"), ("HF_TOKEN", "hf-xyz-123")]
            .map(|(k, v)| (k.to_string(), v.to_string()));
        let copy = source(text, None, named.iter().map(|(k, v)| (k, v)), &[], []);
        assert_eq!(
            copy,
            "target:\n  headers: {X-Api-Key: <redacted>}\n  server:\n    env:\n      HF_TOKEN: <redacted>\n"
        );
        let parsed: serde_yaml::Value = serde_yaml::from_str(&copy).unwrap();
        assert_eq!(parsed["target"]["server"]["env"]["HF_TOKEN"], "<redacted>");
    }

    #[test]
    fn userinfo_echoed_as_password_basic_or_json_is_hidden() {
        let s = Secrets::of_client("http://bob:pa%22ss%5Cw0rd@h/v1", [], None);
        let basic = base64_encode(br#"bob:pa"ss\w0rd"#);
        let mut t =
            format!(r#"{{"echo":"pa\"ss\\w0rd"}} auth={basic} raw=pa"ss\w0rd url=pa%22ss%5Cw0rd"#);
        s.scrub(&mut t);
        assert_eq!(t, r#"{"echo":"***"} auth=*** raw=*** url=***"#);
    }

    #[test]
    fn credential_headers_are_secret_and_others_are_not() {
        let h = [
            ("X-Api-Key", "hdr-key-value"),
            ("Cookie", "session=cookie-value"),
            ("X-Upstream-Token", "tok-value"),
            ("Authorization", "Basic dXNlcjpwYXNz"),
            ("X-Request-Tag", "visible-tag"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let s = Secrets::of_client("http://h/v1", h.iter().map(|(k, v)| (k, v)), None);
        let mut t =
            "hdr-key-value session=cookie-value tok-value user:pass dXNlcjpwYXNz visible-tag"
                .to_string();
        s.scrub(&mut t);
        assert_eq!(t, "*** *** *** user:*** *** visible-tag");
    }

    #[test]
    fn basic_and_bearer_credentials_are_hidden_by_shape() {
        assert_eq!(
            shapes("Authorization: Basic dXNlcjpwYXNz, Bearer sk-unknown.1"),
            "Authorization: Basic ***, Bearer ***"
        );
        // A challenge and prose are not credentials.
        assert_eq!(
            shapes("WWW-Authenticate: Basic realm=x"),
            "WWW-Authenticate: Basic realm=x"
        );
    }

    #[test]
    fn command_secrets_in_every_spelling_are_hidden() {
        let r = |w: &[&str]| command(&argv(w));
        assert_eq!(
            r(&[
                "/usr/bin/env",
                "SECRET=s1",
                "HF_TOKEN=s2",
                "PATH=/bin",
                "cmd"
            ]),
            "/usr/bin/env 'SECRET=<redacted>' 'HF_TOKEN=<redacted>' 'PATH=/bin' cmd"
        );
        assert_eq!(
            r(&["srv", "--api-key", "s3", "--port", "80"]),
            "srv --api-key '<redacted>' --port 80"
        );
        assert_eq!(r(&["srv", "--hf-token=s4"]), "srv '--hf-token=<redacted>'");
        // One argv word holding flag and value: the value hidden, `--host` shown.
        assert_eq!(
            r(&["srv", "--api-key s5", "--host", "0.0.0.0"]),
            "srv '--api-key <redacted>' --host 0.0.0.0"
        );
        assert_eq!(
            r(&["sh", "-c", "SECRET=s6 exec srv --api-key s7 --token=s8 --host 0.0.0.0"]),
            "sh -c 'SECRET=<redacted> exec srv --api-key <redacted> --token=<redacted> --host 0.0.0.0'"
        );
        // A hidden value said again, bare, is hidden there too.
        assert_eq!(
            r(&["sh", "-c", "srv --api-key sk-1234; echo sk-1234 >&2"]),
            "sh -c 'srv --api-key <redacted>; echo <redacted> >&2'"
        );
        // A key flag with no value does not hide the next flag.
        assert_eq!(
            r(&["srv", "--api-key", "--host", "h"]),
            "srv --api-key --host h"
        );
        assert_eq!(r(&["srv", "-m", "a b.gguf"]), "srv -m 'a b.gguf'");
        // A command that cannot be split still hides what follows a key flag.
        let broken = r(&["sh -c 'srv --api-key sec-12"]);
        assert!(
            !broken.contains("sec-12") && broken.contains("<redacted>"),
            "{broken}"
        );
        // An experiment quoting the command is scrubbed of the same values.
        let cmd = "env SECRET=sec-9 sh -c 'srv --api-key sec-10;'";
        let yaml = format!("command: \"{cmd}\"\nkeep: sec-11");
        assert_eq!(
            source(&yaml, None, [], &[], [cmd]),
            "command: \"env SECRET=<redacted> sh -c 'srv --api-key <redacted>;'\"\nkeep: sec-11"
        );
    }

    #[test]
    fn escapes_are_shown_not_obeyed() {
        assert_eq!(
            for_terminal("bad\u{1b}[2J\u{7}\nnext"),
            "bad\\u{1b}[2J\\u{7}\\nnext"
        );
        assert_eq!(for_terminal("plain text"), "plain text");
    }
}
