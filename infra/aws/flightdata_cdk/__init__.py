"""The AWS deployment of flightdata: a CDK app that synthesises offline."""
