"""The Glue catalog (database and tables, from ``flightdata.catalog``) and the Athena work
group with the project's named queries."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from constructs import Construct

from flightdata import catalog
from flightdata.orchestration.named_queries import named_queries
from flightdata.resources import Resources


class Analytics(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, names: Resources, key: kms.IKey, bytes_scanned_cutoff: int
    ):
        super().__init__(scope, construct_id)
        database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=cdk.Stack.of(self).account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=names.glue_database, description="flightdata: OpenSky state vectors"
            ),
        )
        for kind in names.tables:
            table = glue.CfnTable(
                self,
                f"Table-{kind}",
                catalog_id=cdk.Stack.of(self).account,
                database_name=names.glue_database,
                table_input=_cfn_table_input(catalog.table_input(names, kind)),
            )
            table.node.add_dependency(database)
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=names.workgroup,
            description="flightdata reports and compaction",
            state="ENABLED",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=bytes_scanned_cutoff,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=names.athena_output_location,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=key.key_arn
                    ),
                ),
            ),
        )
        for name, description, sql in named_queries(names):
            query = athena.CfnNamedQuery(
                self,
                f"Query-{name}",
                name=f"flightdata {name}",
                description=description,
                database=names.glue_database,
                work_group=names.workgroup,
                query_string=sql,
            )
            query.node.add_dependency(self.workgroup)


def _cfn_table_input(table: dict[str, Any]) -> glue.CfnTable.TableInputProperty:
    """The Glue API's TableInput (PascalCase) as CloudFormation's property classes."""
    sd = table["StorageDescriptor"]
    return glue.CfnTable.TableInputProperty(
        name=table["Name"],
        description=table.get("Description"),
        table_type=table["TableType"],
        parameters=table["Parameters"],
        partition_keys=[glue.CfnTable.ColumnProperty(name=k["Name"], type=k["Type"]) for k in table["PartitionKeys"]],
        storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
            columns=[
                glue.CfnTable.ColumnProperty(name=c["Name"], type=c["Type"], comment=c.get("Comment"))
                for c in sd["Columns"]
            ],
            location=sd["Location"],
            input_format=sd["InputFormat"],
            output_format=sd["OutputFormat"],
            serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=sd["SerdeInfo"]["SerializationLibrary"]),
        ),
    )
