"""A 3-instance trained model through boto3 (a client nobody here wrote) against a server whose runs go to a swarm.

Usage: python3 boto3_swarm_flow.py <endpoint_url> <association arn> <channel arn>; prints one JSON object.
"""
import json
import sys
import time

import boto3

endpoint, association, channel = sys.argv[1:4]
membership = "00000000-0000-4000-8000-000000000001"
client = boto3.client("cleanroomsml", endpoint_url=endpoint, region_name="us-east-1")
arn = client.create_trained_model(
    membershipIdentifier=membership,
    name="boto3-swarm",
    configuredModelAlgorithmAssociationArn=association,
    resourceConfig={"instanceType": "ml.m5.large", "volumeSizeInGB": 1, "instanceCount": 3},
    hyperparameters={"epochs": "10"},
    dataChannels=[{"channelName": "train", "mlInputChannelArn": channel, "s3DataDistributionType": "ShardedByS3Key"}],
)["trainedModelArn"]
deadline = time.time() + 150
while True:
    got = client.get_trained_model(membershipIdentifier=membership, trainedModelArn=arn)
    if got["status"] in ("ACTIVE", "CREATE_FAILED") or time.time() > deadline:
        break
    time.sleep(0.5)
print(json.dumps({"trainedModelArn": arn, "status": got["status"], "statusDetails": got.get("statusDetails"),
                  "instanceCount": got["resourceConfig"].get("instanceCount")}))
