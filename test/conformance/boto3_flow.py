"""The full training flow through boto3 (a client nobody here wrote) against crml serve.

Every response is parsed by botocore from the service model, so a wire mistake fails here.
Usage: python3 boto3_flow.py <endpoint_url>; prints one JSON object with what it saw.
"""
import json
import sys
import time

import boto3
from botocore.exceptions import ClientError

endpoint = sys.argv[1]
membership = "00000000-0000-4000-8000-000000000001"
collaboration = "00000000-0000-4000-8000-0000000000c1"
client = boto3.client("cleanroomsml", endpoint_url=endpoint, region_name="us-east-1")
seen = {}

algorithm = client.create_configured_model_algorithm(
    name="probe",
    roleArn="arn:aws:iam::123456789012:role/r",
    trainingContainerConfig={
        "imageUri": "crml-examples/probe:latest",
        "metricDefinitions": [{"name": "loss", "regex": "loss=([0-9.]+)"}],
    },
    tags={"team": "ml"},
)["configuredModelAlgorithmArn"]
got = client.get_configured_model_algorithm(configuredModelAlgorithmArn=algorithm)
seen["algorithmCreateTimeType"] = type(got["createTime"]).__name__
seen["algorithmTags"] = got.get("tags")

association = client.create_configured_model_algorithm_association(
    membershipIdentifier=membership, configuredModelAlgorithmArn=algorithm, name="assoc"
)["configuredModelAlgorithmAssociationArn"]

channel = client.create_ml_input_channel(
    membershipIdentifier=membership,
    configuredModelAlgorithmAssociations=[association],
    inputChannel={
        "dataSource": {
            "protectedQueryInputParameters": {
                "sqlParameters": {"queryString": "SELECT column0, column2 FROM customers"},
                "resultFormat": "CSV",
            }
        },
        "roleArn": "arn:aws:iam::123456789012:role/r",
    },
    name="customers",
    retentionInDays=1,
)["mlInputChannelArn"]
for _ in range(200):
    ch = client.get_ml_input_channel(membershipIdentifier=membership, mlInputChannelArn=channel)
    if ch["status"] != "CREATE_PENDING":
        break
    time.sleep(0.1)
seen["channelStatus"] = ch["status"]
seen["channelRecords"] = ch.get("numberOfRecords")

model = client.create_trained_model(
    membershipIdentifier=membership,
    name="boto3-model",
    configuredModelAlgorithmAssociationArn=association,
    resourceConfig={"instanceType": "ml.m5.large", "volumeSizeInGB": 1},
    hyperparameters={"print_text": "loss=0.5\\nloss=0.25"},
    dataChannels=[{"mlInputChannelArn": channel, "channelName": "train"}],
)["trainedModelArn"]
statuses = []
for _ in range(600):
    tm = client.get_trained_model(membershipIdentifier=membership, trainedModelArn=model)
    if not statuses or statuses[-1] != tm["status"]:
        statuses.append(tm["status"])
    if tm["status"] in ("ACTIVE", "CREATE_FAILED"):
        break
    time.sleep(0.1)
seen["statuses"] = statuses
seen["digest"] = tm.get("trainingContainerImageDigest")
seen["statusDetails"] = tm.get("statusDetails")

seen["listed"] = [m["trainedModelArn"] for m in client.list_trained_models(membershipIdentifier=membership)["trainedModels"]] == [model]
paginator = client.get_paginator("list_trained_models")
seen["paginated"] = sum(len(p["trainedModels"]) for p in paginator.paginate(membershipIdentifier=membership, PaginationConfig={"PageSize": 1}))
collab = client.get_collaboration_trained_model(collaborationIdentifier=collaboration, trainedModelArn=model)
seen["collaborationHidesHyperparameters"] = "hyperparameters" not in collab

# Incremental training: a new version of the same trained model, with the base's artifacts as channel `model`.
version = client.create_trained_model(
    membershipIdentifier=membership,
    name="boto3-model-v2",
    configuredModelAlgorithmAssociationArn=association,
    resourceConfig={"instanceType": "ml.m5.large", "volumeSizeInGB": 1},
    hyperparameters={"list_channels_to_stdout": "true"},
    dataChannels=[{"mlInputChannelArn": channel, "channelName": "train"}],
    incrementalTrainingDataChannels=[{"trainedModelArn": model, "channelName": "model"}],
)
seen["versionSameArn"] = version["trainedModelArn"] == model
for _ in range(600):
    v = client.get_trained_model(membershipIdentifier=membership, trainedModelArn=model, versionIdentifier=version["versionIdentifier"])
    if v["status"] in ("ACTIVE", "CREATE_FAILED"):
        break
    time.sleep(0.1)
seen["versionStatus"] = v["status"]
seen["versionChannels"] = v.get("incrementalTrainingDataChannels")
seen["latestIsVersion"] = client.get_trained_model(membershipIdentifier=membership, trainedModelArn=model).get("versionIdentifier") == version["versionIdentifier"]
pages = client.get_paginator("list_trained_model_versions").paginate(
    membershipIdentifier=membership, trainedModelArn=model, PaginationConfig={"PageSize": 1})
seen["versions"] = [[m.get("versionIdentifier") == version["versionIdentifier"], m["name"]] for p in pages for m in p["trainedModels"]]
seen["collaborationVersion"] = client.get_collaboration_trained_model(
    collaborationIdentifier=collaboration, trainedModelArn=model, versionIdentifier=version["versionIdentifier"])["name"]

client.tag_resource(resourceArn=model, tags={"stage": "test"})
seen["tags"] = client.list_tags_for_resource(resourceArn=model)["tags"]
client.untag_resource(resourceArn=model, tagKeys=["stage"])
seen["tagsAfterUntag"] = client.list_tags_for_resource(resourceArn=model)["tags"]

try:
    client.cancel_trained_model(membershipIdentifier=membership, trainedModelArn=model)
except ClientError as e:
    seen["cancelFinished"] = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]

client.delete_trained_model_output(membershipIdentifier=membership, trainedModelArn=model)
# Without a version identifier, DeleteTrainedModelOutput removes the base version's output.
seen["afterDelete"] = [[m.get("versionIdentifier") is None, m["status"]]
                       for m in client.list_trained_model_versions(membershipIdentifier=membership, trainedModelArn=model)["trainedModels"]]
client.delete_trained_model_output(membershipIdentifier=membership, trainedModelArn=model, versionIdentifier=version["versionIdentifier"])
client.delete_ml_input_channel_data(membershipIdentifier=membership, mlInputChannelArn=channel)
client.delete_configured_model_algorithm_association(membershipIdentifier=membership, configuredModelAlgorithmAssociationArn=association)
client.delete_configured_model_algorithm(configuredModelAlgorithmArn=algorithm)

try:
    client.get_configured_model_algorithm(configuredModelAlgorithmArn=algorithm)
except ClientError as e:
    seen["getDeleted"] = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
try:
    client.create_configured_model_algorithm(name="x" * 64, roleArn="arn:aws:iam::123456789012:role/r")
except ClientError as e:
    seen["tooLong"] = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Message"]]

print(json.dumps(seen))
