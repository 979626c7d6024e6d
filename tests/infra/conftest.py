"""The synthesised CDK app, once per test session (it takes several seconds)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def synthesised(tmp_path_factory):
    os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
    import importlib.util
    from pathlib import Path

    from aws_cdk.assertions import Template

    spec = importlib.util.spec_from_file_location("cdk_app", Path(__file__).parents[2] / "infra" / "aws" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = module.build_app(outdir, context={"alarm_email": "ops@example.com"})
    assembly = app.synth()
    return {"stack": stack, "template": Template.from_stack(stack), "outdir": outdir, "assembly": assembly}
