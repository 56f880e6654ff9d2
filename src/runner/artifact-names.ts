/** The artifact files of a run, beside manifest.json (their own module: readers need not load the packager). */
export const MODEL_ARTIFACT = 'model.tar.gz';
export const OUTPUT_ARTIFACT = 'output.tar.gz';
