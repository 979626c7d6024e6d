"""The deployment's shape, read from a built CDK stack: what :mod:`flightdata_cdk.cost` prices.

It counts what ``cdk deploy`` would create (environment class, workers, NAT gateways,
endpoints, keys, secrets, alarms, dashboards, function sizes), so the estimate never
drifts from the stack.
"""

from __future__ import annotations

from typing import Any

from flightdata import resources
from flightdata_cdk.cost import Shape


def shape_of(stack: Any) -> Shape:
    """Count what ``stack`` (a built ``FlightDataStack``) would create."""
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_mwaa as mwaa
    from aws_cdk import aws_secretsmanager as secretsmanager

    found = list(stack.node.find_all())

    def of(kind: type) -> list[Any]:
        return [c for c in found if isinstance(c, kind)]

    (environment,) = of(mwaa.CfnEnvironment)
    by_name = {f.function_name: f for f in of(lambda_.CfnFunction)}
    functions = {}
    for spec in resources.FUNCTIONS:
        function = by_name[getattr(stack.names, spec.name_attr)]
        functions[spec.name_attr] = (int(function.memory_size), (function.architectures or ["x86_64"])[0])
    endpoints = [e for e in of(ec2.CfnVPCEndpoint) if e.vpc_endpoint_type == "Interface"]
    return Shape(
        environment_class=environment.environment_class,
        min_workers=int(environment.min_workers or 1),
        nat_gateways=len(of(ec2.CfnNatGateway)),
        interface_endpoint_azs=sum(len(e.subnet_ids or []) for e in endpoints),
        kms_keys=len(of(kms.CfnKey)),
        secrets=len(of(secretsmanager.CfnSecret)),
        alarms=len(of(cloudwatch.CfnAlarm)),
        dashboards=len(of(cloudwatch.CfnDashboard)),
        functions=functions,
        log_retention_days=stack.settings.log_retention_days,
        raw_expiry_days=stack.settings.raw_expiry_days,
        opensky_tier=stack.settings.opensky_tier,
    )
