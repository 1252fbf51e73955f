/** A dataset's files are not where we looked; the message says where we looked and how to get them. */
export class DatasetNotFoundError extends Error {
  override name = 'DatasetNotFoundError';
}

/** An unknown dataset name; the message lists the known ones. */
export class UnknownDatasetError extends Error {
  override name = 'UnknownDatasetError';
}

/** A user's data file (`--data`, `--test`) that cannot be read as what it claims to be; the message names the file and the place. */
export class DataFileError extends Error {
  override name = 'DataFileError';
}
