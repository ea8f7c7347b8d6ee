"""schemathesis against /openapi.json: generated requests to every operation, none may get a 500.

Bounded for the shared machine: a few examples per operation, no shrinking of passing runs. The
requests carry the token, so the write endpoints are exercised past the authentication.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, settings as hyp_settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from pumpguard.api.app import create_app  # noqa: E402
from pumpguard.api.settings import Settings  # noqa: E402

TOKEN = "fuzz-token-0123456789abcdef"


def _app():
    import tempfile
    from pathlib import Path

    root = Path(tempfile.mkdtemp(prefix="pumpguard-fuzz-"))
    (root / "data").mkdir()
    (root / "data" / "tiny.csv").write_text("timestamp,sensor_00\n2018-04-01T00:00:00Z,1.0\n")
    # a model, so /predict and /assess get past "no model" into decoding and scoring
    from pumpguard.data.synthetic import make_sample
    from pumpguard.detectors.model_file import save_model
    from pumpguard.detectors.training import train

    (root / "models").mkdir()
    sample = make_sample(2, seed=1)
    save_model(train(sample.__class__.from_frame(sample.frame[["sensor_00", "sensor_01", "machine_status"]]), "pca"),
               root / "models" / "pca.skops")
    return create_app(Settings(data_dir=root / "data", models_dir=root / "models", token=TOKEN,
                               max_request_bytes=64 * 1024))


app = _app()
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.slow
@schema.parametrize()
@hyp_settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=[not_a_server_error])
