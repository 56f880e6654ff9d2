/**
 * One ML input channel as a run receives it: which folder of this machine, under which name. The channels
 * room owns this shape (it decides how the folder reaches each container); the runner only reads it.
 */

/** application/x-sagemaker-model: an incremental training channel holding a base model's model.tar.gz. */
export type ChannelContentType = 'text/csv' | 'application/x-parquet' | 'application/octet-stream' | 'application/x-sagemaker-model';

export interface ChannelSpec {
  channelName: string;
  /** Host folder holding the channel's files (read-only to the container). */
  hostPath: string;
  contentType: ChannelContentType;
  s3DataDistributionType: 'FullyReplicated' | 'ShardedByS3Key';
}
