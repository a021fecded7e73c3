"""Browser-less authorization-code flow against Portcullis (stdlib only).

Used by bench.py to
  * log a user in and give consent once, keeping the session cookie, so that
    codes can then be minted by plain `GET /oauth/authorize` requests (by wrk);
  * turn a few codes into refresh tokens (the seeds of the rotation scenario);
  * drive the full flow, authorize -> login -> consent -> token, with a fresh
    session every iteration, from a few worker threads, for a bounded time.

Every step checks the status it expects and the body or header it needs; any
other answer is an error, recorded with the step that saw it.
"""

import base64
import http.client
import re
import threading
import time
import urllib.parse

CSRF_RE = re.compile(r'name="csrf"\s+value="([^"]+)"')
REQUEST_RE = re.compile(r'name="request"\s+value="([^"]+)"')


class FlowError(Exception):
    def __init__(self, step, status, detail=""):
        super().__init__(f"{step}: {status} {detail[:200]}")
        self.step = step
        self.status = status


def basic(client_id, secret):
    raw = f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(secret, safe='')}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


class Browser:
    """One user agent: one keep-alive connection and one cookie jar."""

    def __init__(self, host, port, timeout=10):
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self.cookies = {}

    def close(self):
        self.conn.close()

    def request(self, method, path, form=None, headers=None):
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=h)
            res = self.conn.getresponse()
            data = res.read()
        except (http.client.HTTPException, OSError):
            # One retry on a fresh connection (the server may close idle ones).
            self.conn.close()
            self.conn.request(method, path, body=body, headers=h)
            res = self.conn.getresponse()
            data = res.read()
        for sc in res.msg.get_all("set-cookie") or []:
            name, _, rest = sc.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in sc.lower() or value == "":
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        return res.status, res.msg, data.decode("utf-8", "replace")


def location(headers):
    return headers.get("location") or ""


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def authorize_path(client_id, redirect_uri, state="s", prompt=None, challenge=None):
    q = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "read",
        "state": state,
    }
    if prompt:
        q["prompt"] = prompt
    if challenge:
        q["code_challenge"] = challenge
        q["code_challenge_method"] = "S256"
    return "/oauth/authorize?" + urllib.parse.urlencode(q)


def login_and_consent(b, client_id, redirect_uri, username, password, prompt=None,
                      challenge=None, state="s"):
    """authorize -> login page -> POST login -> continue -> consent page ->
    POST consent. Returns the code from the final redirect."""
    st, h, body = b.request("GET", authorize_path(client_id, redirect_uri, state, prompt, challenge))
    if st != 303 or not location(h).startswith("/login?"):
        raise FlowError("authorize", st, location(h) or body)
    login_path = location(h)
    req = query_of(login_path).get("request", "")

    st, h, body = b.request("GET", login_path)
    m = CSRF_RE.search(body)
    if st != 200 or not m or "portcullis_csrf" not in b.cookies:
        raise FlowError("login page", st, body)
    st, h, body = b.request("POST", "/login", form={
        "csrf": m.group(1), "username": username, "password": password, "request": req,
    })
    if st != 303 or "portcullis_session" not in b.cookies:
        raise FlowError("login", st, location(h) or body)
    nxt = location(h)
    # /oauth/authorize/continue -> /consent (or straight back with a code
    # when consent was given before and none is asked for).
    for _ in range(3):
        if nxt.startswith(redirect_uri):
            break
        if nxt.startswith("/consent"):
            st, h, body = b.request("GET", nxt)
            m = CSRF_RE.search(body)
            r = REQUEST_RE.search(body)
            if st != 200 or not m or not r:
                raise FlowError("consent page", st, body)
            st, h, body = b.request("POST", "/consent", form={
                "csrf": m.group(1), "request": r.group(1), "decision": "approve",
            })
            if st != 303:
                raise FlowError("consent", st, body)
            nxt = location(h)
            continue
        if not nxt.startswith("/"):
            raise FlowError("redirect", st, nxt)
        st, h, body = b.request("GET", nxt)
        if st != 303:
            raise FlowError("continue", st, body)
        nxt = location(h)
    if not nxt.startswith(redirect_uri):
        raise FlowError("final redirect", st, nxt)
    q = query_of(nxt)
    if "code" not in q or q.get("state") != state:
        raise FlowError("final redirect", st, nxt)
    return q["code"]


def exchange(b, auth, code, redirect_uri, verifier=None):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier:
        form["code_verifier"] = verifier
    st, h, body = b.request("POST", "/oauth/token", form=form, headers={"Authorization": auth})
    if st != 200 or '"access_token"' not in body:
        raise FlowError("token", st, body)
    return body


def mint_code(b, client_id, redirect_uri):
    """A code from an authorize request on a session that has consented."""
    st, h, body = b.request("GET", authorize_path(client_id, redirect_uri))
    loc = location(h)
    if st != 303 or not loc.startswith(redirect_uri):
        raise FlowError("authorize (session)", st, loc or body)
    return query_of(loc)["code"]


def refresh_seeds(host, port, client_id, secret, redirect_uri, session_cookie, n):
    """n refresh tokens, each from its own code exchange."""
    b = Browser(host, port)
    b.cookies["portcullis_session"] = session_cookie
    auth = basic(client_id, secret)
    out = []
    m = re.compile(r'"refresh_token":"([^"]+)"')
    try:
        for _ in range(n):
            code = mint_code(b, client_id, redirect_uri)
            body = exchange(b, auth, code, redirect_uri)
            r = m.search(body)
            if not r:
                raise FlowError("token (no refresh_token)", 200, body)
            out.append(r.group(1))
    finally:
        b.close()
    return out


def pkce_pair():
    import hashlib
    import os
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def full_flow(host, port, client_id, secret, redirect_uri, users, password, duration_s,
              workers, pkce=True):
    """Runs the whole flow with a fresh session (new cookie jar and
    connection) per iteration, `workers` threads, for duration_s seconds.
    prompt=consent makes the consent page appear every time. Returns a dict
    of counts and latencies (seconds)."""
    auth = basic(client_id, secret)
    lock = threading.Lock()
    lat = []
    errors = {}
    samples = []
    deadline = time.monotonic() + duration_s
    started = time.monotonic()

    def worker(idx):
        user = users[idx % len(users)]
        i = 0
        while time.monotonic() < deadline:
            i += 1
            b = Browser(host, port)
            t0 = time.monotonic()
            try:
                verifier, challenge = pkce_pair() if pkce else (None, None)
                code = login_and_consent(b, client_id, redirect_uri, user, password,
                                         prompt="consent", challenge=challenge,
                                         state=f"w{idx}i{i}")
                exchange(b, auth, code, redirect_uri, verifier)
                dt = time.monotonic() - t0
                with lock:
                    lat.append(dt)
            except FlowError as e:
                with lock:
                    k = f"{e.step}:{e.status}"
                    errors[k] = errors.get(k, 0) + 1
                    if len(samples) < 3:
                        samples.append(str(e))
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    k = f"socket:{type(e).__name__}"
                    errors[k] = errors.get(k, 0) + 1
                    if len(samples) < 3:
                        samples.append(repr(e))
            finally:
                b.close()

    ts = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(duration_s + 60)
    elapsed = time.monotonic() - started
    return {"ok": len(lat), "elapsed_s": elapsed, "latencies_s": sorted(lat),
            "errors": errors, "samples": samples}
