# videoxai study: decode -> flow -> explain -> selective -> metrics -> aggregate, one shard per video.
# Run from the repository root:  snakemake --cores all   (profiles/default is picked up automatically)
# Another study:                snakemake --cores all --configfile config/ucf101.yaml
import os

from snakemake.utils import min_version, validate

min_version("9.0")


# The embedded default runs only when the command line (or a profile's `configfile:`) names no
# config file. A study's --configfile stands alone: every key it does not set takes the schema's
# default, never the embedded default's choices (the benchmark on, 2 clips per video). To build on
# the embedded default, name it first: --configfile config/config.yaml my_study.yaml.
# Found next to this Snakefile, so `--directory elsewhere` still gets the embedded default.
if not workflow.config_settings.configfiles:

    configfile: os.path.join(workflow.basedir, "config/config.yaml")


validate(config, "workflow/schemas/config.schema.yaml", set_default=True)


include: "workflow/rules/common.smk"


# The report opens on what was run and the headline result: workflow.rst includes the front
# page that rule report_summary writes from the tables (until then, a page that says so).
report: "workflow/report/workflow.rst" if os.path.exists(FRONT_PAGE) else "workflow/report/workflow_pending.rst"


# Video ids are file-name safe (see videoxai.data.listing.safe_id) and never contain "/".
wildcard_constraints:
    video=r"[A-Za-z0-9_.-]+",
    bucket=r"b\d+_\d+",


include: "workflow/rules/preflight.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/flow.smk"
include: "workflow/rules/explain.smk"
include: "workflow/rules/selective.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/faithfulness.smk"
include: "workflow/rules/static_control.smk"
include: "workflow/rules/randomisation.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/ground_truth.smk"
include: "workflow/rules/train.smk"


# On a cluster these run on the submitting machine: downloads need the network compute nodes
# often lack, and the study-level steps take seconds.
localrules:
    all,
    preflight,
    fetch_sample_videos,
    fetch_i3d_weights,
    collect_failures,
    aggregate,
    randomisation_table,
    static_control,
    figures,
    example_figures,
    example_videos,
    report_summary,
    cfp_pyramid,
    ground_truth_table,


rule all:
    default_target: True
    input:
        study_targets(),


# Said when the DAG is built rather than on start, so that a dry run says it too.
print(study_summary(), file=sys.stderr)


onsuccess:
    print(f"videoxai: done. Failed videos (if any): {RESULTS}/failed_videos.csv", file=sys.stderr)
    for name, reason in table_status()["absent"].items():
        print(f"videoxai: table {name} not written: {reason}", file=sys.stderr)


onerror:
    print(f"videoxai: some jobs failed; see {RESULTS}/logs/ and the log above", file=sys.stderr)
