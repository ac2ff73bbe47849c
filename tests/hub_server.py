"""A stand-in for the Hugging Face hub on the loopback address, for tests only.

The Hugging Face client libraries (``huggingface_hub``, and through it ``datasets`` and
``transformers``) take their endpoint from ``HF_ENDPOINT``. This server answers the part of
the hub's HTTP interface those libraries use to download a repository at a revision:

- ``GET /api/{models,datasets}/<repo>[/revision/<rev>]``: the repository's info (its commit
  ``sha`` and file list) at a branch, tag or commit;
- ``GET /api/{models,datasets}/<repo>/tree/<rev>[/<path>]`` and ``POST .../paths-info/<rev>``:
  file listings, as ``datasets`` reads a dataset repository;
- ``HEAD``/``GET /[datasets/]<repo>/resolve/<rev>/<path>``: a file, with the headers the
  client checks (``X-Repo-Commit``, ``ETag``, ``Content-Length``), and the hub's error codes
  (``RepositoryNotFound``, ``RevisionNotFound``, ``EntryNotFound``) otherwise.

It stands in only for the network: the repositories it serves are laid out as the real
ones (file names, split names, columns), with tiny contents the test provides. A repository
can gain commits while the server runs (:meth:`Hub.commit`), so a moving branch and a locked
commit can be told apart.
"""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Repo:
    kind: str  # "model" or "dataset"
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # sha -> files
    refs: dict[str, str] = field(default_factory=dict)  # branch or tag -> sha

    def resolve(self, revision: str) -> str | None:
        revision = urllib.parse.unquote(revision)
        if revision in self.commits:
            return revision
        return self.refs.get(revision)


class Hub:
    """The repositories, and the server answering for them on 127.0.0.1 (a free port)."""

    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    def commit(self, kind: str, repo_id: str, files: dict[str, bytes], branch: str = "main") -> str:
        """Add a commit of ``files`` (the whole tree) to a repository; ``branch`` moves to it."""
        repo = self.repos.setdefault((kind, repo_id), Repo(kind))
        sha = hashlib.sha1(repo_id.encode() + b"\0" + str(len(repo.commits)).encode() + b"".join(sorted(files.values()))).hexdigest()
        repo.commits[sha] = dict(files)
        repo.refs[branch] = sha
        return sha

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Hub:
        hub = self

        class Handler(_Handler):
            pass

        Handler.hub = hub
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def _entry(path: str, data: bytes) -> dict:
    return {"type": "file", "path": path, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}


class _Handler(BaseHTTPRequestHandler):
    hub: Hub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    # ---------------------------------------------------------------- answers
    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, head: bool = False) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, value: object, head: bool = False) -> None:
        self._send(200, json.dumps(value).encode(), {"Content-Type": "application/json"}, head)

    def _error(self, status: int, code: str, message: str, head: bool = False) -> None:
        body = json.dumps({"error": message}).encode()
        self._send(status, body, {"Content-Type": "application/json", "X-Error-Code": code, "X-Error-Message": message}, head)

    def _repo(self, kind: str, repo_id: str, head: bool = False) -> Repo | None:
        repo = self.hub.repos.get((kind, repo_id))
        if repo is None:
            self._error(404, "RepositoryNotFound", f"Repository Not Found for url: {self.path}", head)
        return repo

    def _commit(self, repo: Repo, revision: str, head: bool = False) -> str | None:
        sha = repo.resolve(revision)
        if sha is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", head)
        return sha

    # ---------------------------------------------------------------- routes
    def _route(self, head: bool = False) -> None:
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/")]
        self.hub.requests.append(f"{self.command} {url.path}")
        if parts[:1] == ["api"] and len(parts) >= 4 and parts[1] in ("models", "datasets"):
            return self._api("model" if parts[1] == "models" else "dataset", parts[2:], head)
        kind = "model"
        if parts[:1] == ["datasets"]:
            kind, parts = "dataset", parts[1:]
        if len(parts) >= 5 and parts[2] == "resolve":
            return self._resolve(kind, f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]), head)
        self._error(404, "EntryNotFound", f"no route for {url.path}", head)

    def _info(self, repo_id: str, sha: str, files: dict[str, bytes]) -> dict:
        return {
            "id": repo_id,
            "sha": sha,
            "private": False,
            "disabled": False,
            "gated": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "siblings": [{"rfilename": p} for p in sorted(files)],
        }

    def _api(self, kind: str, parts: list[str], head: bool) -> None:
        repo_id, rest = f"{parts[0]}/{parts[1]}", parts[2:]
        repo = self._repo(kind, repo_id, head)
        if repo is None:
            return
        if not rest or rest[0] == "revision":
            sha = self._commit(repo, rest[1] if len(rest) > 1 else "main", head)
            if sha:
                self._json(self._info(repo_id, sha, repo.commits[sha]), head)
            return
        if rest[0] == "tree" and len(rest) >= 2:
            sha = self._commit(repo, rest[1], head)
            if sha is None:
                return
            prefix = "/".join(rest[2:]).strip("/")
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            recursive = query.get("recursive", ["false"])[0].lower() == "true"
            self._json(self._tree(repo.commits[sha], prefix, recursive), head)
            return
        if rest[0] == "paths-info" and len(rest) >= 2:
            sha = self._commit(repo, rest[1], head)
            if sha is None:
                return
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            if self.headers.get("Content-Type", "").startswith("application/json"):
                paths = json.loads(raw or "{}").get("paths", [])
            else:
                paths = urllib.parse.parse_qs(raw).get("paths", [])
            files = repo.commits[sha]
            out = []
            for path in paths:
                path = path.strip("/")
                if path in files:
                    out.append(_entry(path, files[path]))
                elif any(f.startswith(path + "/") for f in files) or path == "":
                    out.append({"type": "directory", "path": path, "oid": sha})
            self._json(out, head)
            return
        self._error(404, "EntryNotFound", f"no api route for {self.path}", head)

    def _tree(self, files: dict[str, bytes], prefix: str, recursive: bool) -> list[dict]:
        out, dirs = [], set()
        for path in sorted(files):
            if prefix and not path.startswith(prefix + "/"):
                continue
            rest = path[len(prefix) + 1 :] if prefix else path
            if "/" in rest and not recursive:
                dirs.add((prefix + "/" if prefix else "") + rest.split("/")[0])
                continue
            if recursive:
                parts = rest.split("/")[:-1]
                for i in range(1, len(parts) + 1):
                    dirs.add((prefix + "/" if prefix else "") + "/".join(parts[:i]))
            out.append(_entry(path, files[path]))
        return [{"type": "directory", "path": d, "oid": "0" * 40} for d in sorted(dirs)] + out

    def _resolve(self, kind: str, repo_id: str, revision: str, path: str, head: bool) -> None:
        repo = self._repo(kind, repo_id, head)
        if repo is None:
            return
        sha = self._commit(repo, revision, head)
        if sha is None:
            return
        files = repo.commits[sha]
        if path not in files:
            self._error(404, "EntryNotFound", f"{path} does not exist at {sha}", head)
            return
        data = files[path]
        etag = hashlib.sha256(data).hexdigest()
        headers = {"X-Repo-Commit": sha, "ETag": f'"{etag}"', "Content-Type": "application/octet-stream"}
        self._send(200, data, headers, head)

    def do_GET(self) -> None:  # noqa: N802 (http.server's names)
        self._route()

    def do_HEAD(self) -> None:  # noqa: N802
        self._route(head=True)

    def do_POST(self) -> None:  # noqa: N802
        self._route()
