"""Write endpoints refuse without the token; paths stay inside the data directory; bodies are limited."""

from __future__ import annotations

import pytest

ROW = {"ts": "2018-04-01T00:00:00Z", "values": {"sensor_00": 2.46}}
WRITES = [("post", "/predict", {"json": ROW}),
          ("post", "/train", {"data": {"detector": "pca", "path": "pump.csv"}}),
          ("post", "/assess", {"data": {"model": "pca", "path": "pump.csv"}}),
          ("post", "/alarms/D-1/ack", {})]


@pytest.mark.parametrize("method,path,kwargs", WRITES, ids=[w[1] for w in WRITES])
def test_write_endpoints_refuse_without_token(client, method, path, kwargs):
    r = getattr(client, method)(path, **kwargs)
    assert r.status_code == 401 and "Bearer" in r.json()["detail"]
    assert r.headers["www-authenticate"] == "Bearer"
    r = getattr(client, method)(path, headers={"Authorization": "Bearer wrong-token-wrong-token"}, **kwargs)
    assert r.status_code == 403
    r = getattr(client, method)(path, headers={"Authorization": "Basic dXNlcjpwYXNz"}, **kwargs)
    assert r.status_code in (401, 403)


def test_read_endpoints_need_no_token(client):
    for path in ("/health", "/metrics", "/models", "/state", "/alarms", "/openapi.json", "/"):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("path", ["../secret.csv", "/etc/passwd", "sub/../../secret.csv", "..", "link.csv",
                                  "linkdir/secret.csv", "pump.csv\x00.txt"])
def test_paths_outside_the_data_directory_are_refused(client, auth, api_dirs, path):
    data, _ = api_dirs
    outside = data.parent / "secret.csv"
    if not (data / "link.csv").exists():
        (data / "link.csv").symlink_to(outside)
        (data / "linkdir").symlink_to(data.parent, target_is_directory=True)
    for endpoint, form in (("/train", {"detector": "pca", "path": path}), ("/assess", {"model": "pca", "path": path})):
        r = client.post(endpoint, data=form, headers=auth)
        assert r.status_code in (400, 403), (endpoint, path, r.status_code, r.text)
        assert "data directory" in r.json()["detail"]


def test_request_size_limit(client, auth, settings):
    big = b'{"rows": [' + b",".join([b'{"ts": "2018-04-01T00:00:00Z", "values": {"sensor_00": 1.0}}'] * 6000) + b"]}"
    assert len(big) > settings.max_request_bytes
    r = client.post("/predict", content=big, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["detail"]

    def chunks():  # no Content-Length: the limit still holds while the body streams in
        for i in range(0, len(big), 65536):
            yield big[i:i + 65536]

    r = client.post("/predict", content=chunks(), headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413


def test_path_helper_accepts_inside_paths(tmp_path):
    from pumpguard.api.security import PathOutsideDataError, inside

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.csv").write_text("x")
    assert inside(tmp_path, "a/f.csv") == (tmp_path / "a" / "f.csv").resolve()
    assert inside(tmp_path, "./a/f.csv") == (tmp_path / "a" / "f.csv").resolve()
    with pytest.raises(PathOutsideDataError):
        inside(tmp_path, "a/../../x")
    with pytest.raises(FileNotFoundError):
        inside(tmp_path, "a/missing.csv")
