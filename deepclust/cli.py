"""The ``deepclust`` command line: a thin layer that parses, builds a config and calls the library.

Errors a user can cause are printed as one sentence (no traceback) with exit status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import yaml

from .errors import DeepclustError, InputError, TrainingInterrupted


def parse_assignments(items) -> dict:
    """Turn ``["k=v", ...]`` into a dict, reading each value as YAML (numbers, bools, lists)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set expects key=value, got {item!r}.")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            out[key.strip()] = value
    return out


def read_config(path) -> dict:
    """Read a YAML config file of method parameters (keys as accepted by ``--set``)."""
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        from .errors import MissingPathError

        raise MissingPathError(f"Config file {p} does not exist.")
    try:
        cfg = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"Config file {p} is not valid YAML ({exc.__class__.__name__}).") from None
    if not isinstance(cfg, dict):
        raise InputError(f"Config file {p} must hold a mapping of parameter names to values.")
    return cfg


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deepclust")
def cli():
    """Cluster unlabeled data with deep and classic methods, and measure the result."""


@cli.command()
def datasets():
    """List the named datasets and where each is found."""
    from .data import list_datasets, locate_dataset

    for name in list_datasets():
        click.echo(f"{name:14s} {locate_dataset(name)}")


@cli.command()
def methods():
    """List the registered methods with one-line descriptions."""
    from .registry import describe, method_names

    for name in method_names():
        click.echo(f"{name:26s} {describe(name)}")


def _method_options(command):
    """The options `run` and `sweep` share: --device, --config, --set, --split and --prep."""
    for option in reversed([
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                     help="Where deep methods train (classic methods run on the CPU)."),
        click.option("--config", "config_file", type=click.Path(), default=None,
                     help="YAML file of method parameters."),
        click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                     help="Set a method parameter (repeatable)."),
        click.option("--split", type=click.Choice(["all", "train", "test"]), default="all", show_default=True),
        click.option("--prep", type=click.Choice(["none", "standard"]), default="none", show_default=True,
                     help="Tables of your own: 'standard' standardises numeric columns, one-hot encodes text "
                          "columns and fills missing values (saved with the model for predict)."),
    ]):
        command = option(command)
    return command


def split_list(text: str) -> list[str]:
    """The items of a space- or comma-separated option value."""
    return text.replace(",", " ").split()


def parse_seeds(text: str) -> list[int]:
    """The seeds of a ``--seeds`` value (space- or comma-separated integers)."""
    try:
        return [int(s) for s in split_list(text)]
    except ValueError:
        raise InputError(f"--seeds must be integers, got {text!r}.") from None


def method_params(method: str, config_file, overrides, device: str) -> dict:
    """A method's parameters from --config and --set (--set wins), with --device where it trains."""
    from .registry import make_estimator

    params = {**read_config(config_file), **parse_assignments(overrides)}
    if make_estimator(method).accepts_param("device"):
        params.setdefault("device", device)
    return params


@cli.command()
@click.argument("method", required=False)
@click.option("--data", default=None, help="Dataset name (see `deepclust datasets`) or a path.")
@click.option("--n-clusters", type=int, default=None, help="Number of clusters (default: the dataset's class count).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for every random generator.")
@_method_options
@click.option("--sample", type=int, default=None, metavar="N",
              help="Cluster a random N-point subset drawn with --seed (labels.csv's index names its rows).")
@click.option("--labels", default=None, help="Label column of a table, or a file of labels (evaluation only).")
@click.option("--out", type=click.Path(), default=None, help="Output folder (default runs/METHOD-DATA-seedS).")
@click.option("--force", is_flag=True, help="Overwrite a non-empty output folder.")
@click.option("--monitor", is_flag=True,
              help="Record ACC/NMI/ARI during deep training when the data has labels (never used for decisions).")
@click.option("--report/--no-report", default=True, show_default=True, help="Write report.html.")
@click.option("--map", "map_method", type=click.Choice(["umap", "pca"]), default="umap", show_default=True,
              help="How the report draws embeddings with more than 2 dimensions.")
@click.option("--resume", "resume_dir", type=click.Path(), default=None,
              help="Continue the interrupted run in this output folder (other options are ignored).")
def run(method, data, n_clusters, seed, device, config_file, overrides, split, prep, sample, labels, out, force,
        monitor, report, map_method, resume_dir):
    """Cluster DATA with METHOD and write labels, metrics, run record and model into --out."""
    from .run import resume_run
    from .run import run as run_method

    if resume_dir is not None:
        res = resume_run(resume_dir, progress=True)
        click.echo(f"Resumed {res.record['method']}; outputs written to {resume_dir}")
        return
    if method is None or data is None:
        raise InputError("run needs a METHOD and --data (or --resume DIR).")

    params = method_params(method, config_file, overrides, device)
    if out is None:
        out = Path("runs") / f"{method}-{Path(str(data)).name}-seed{seed}"
    res = run_method(method, data, n_clusters=n_clusters, seed=seed, params=params, out=out,
                     force=force, split=split, labels=labels, progress=True, monitor=monitor, report=report,
                     map_method=map_method, sample=sample, prep=prep)
    m = res.metrics
    summary = [f"{m['n_clusters']} clusters"]
    summary += [f"{k.upper()} {m[k]:.4f}" for k in ("acc", "nmi", "ari") if k in m]
    if m.get("noise_fraction"):
        summary.append(f"noise {m['noise_fraction']:.1%}")
    click.echo(f"{method} on {res.record['data']['name']}: " + ", ".join(summary))
    click.echo(f"Outputs written to {out}")


@cli.command()
@click.argument("method")
@click.option("--data", required=True, help="Dataset name (see `deepclust datasets`) or a path.")
@click.option("--k", "ks", required=True, help="Numbers of clusters to try: 2-12, 2,4,8 or a mix.")
@click.option("--seeds", default="0 1 2", show_default=True,
              help="Seeds per k (space- or comma-separated); two or more give the stability.")
@_method_options
@click.option("--sample", type=int, default=None, metavar="N",
              help="Every run clusters the same random N-point subset (drawn with seed 0).")
@click.option("--resample", type=float, default=None, metavar="F",
              help="Each seed clusters its own random fraction F of the samples, and the stability compares "
                   "runs on the samples they share (Ben-Hur et al. 2002).")
@click.option("--labels", default=None, help="Label column of a table, or a file of labels (reference only).")
@click.option("--out", type=click.Path(), default=None, help="Output folder (default runs/sweep-METHOD-DATA).")
@click.option("--force", is_flag=True, help="Overwrite a non-empty output folder.")
def sweep(method, data, ks, seeds, device, config_file, overrides, split, prep, sample, resample, labels, out,
          force):
    """Run METHOD for each k of --k and each seed; compare k by label-free criteria.

    Writes sweep.md and sweep.png (per k: medians over the seeds of silhouette, Calinski-Harabasz and
    Davies-Bouldin, and the stability, the mean pairwise ARI between the seeds' partitions;
    ACC/NMI/ARI as a reference when the data has labels), sweep.json, and each run's labels
    as labels/k{K}-seed{S}.csv (index, cluster: the rows of the data; without --resample,
    ready for `deepclust consensus`). For DEC, IDEC, DCEC and AE + k-means add
    `--set pretrain_cache=DIR`: the autoencoder does not depend on k, so each seed pretrains once.
    """
    import numpy as np

    from .data import load_dataset
    from .fileio import atomic_write, atomic_write_json, atomic_write_text
    from .run import draw_sample, labels_csv, prepare_out_dir
    from .runtime import library_versions
    from .sweep import best_k, markdown, parse_ks, summarize
    from .sweep import sweep as run_sweep

    k_list = parse_ks(ks)
    seed_list = parse_seeds(seeds)
    params = method_params(method, config_file, overrides, device)
    out = prepare_out_dir(out or Path("runs") / f"sweep-{method}-{Path(str(data)).name}", force)
    ds = load_dataset(data, split=split, labels=labels, prep=prep)
    rows_of_data = np.arange(ds.n_samples)
    if sample is not None:
        rows_of_data = draw_sample(ds.n_samples, sample, 0)
        ds = ds.subset(rows_of_data)
    rows = run_sweep(method, ds, k_list, seed_list, params=params, resample=resample, progress=True)
    (out / "labels").mkdir(exist_ok=True)
    for r in rows:
        text = labels_csv(r["labels"], index=rows_of_data[r["index"]])
        atomic_write(out / "labels" / f"k{r['k']}-seed{r['seed']}.csv", lambda fh, text=text: fh.write(text))
    summary = summarize(rows)
    best = best_k(summary)
    table = markdown(summary)
    atomic_write_text(out / "sweep.md", f"# {method} on {ds.name}: k sweep\n\n" + table)
    from .viz.plots import sweep_criteria, to_png

    png = to_png(sweep_criteria(summary, best))
    atomic_write(out / "sweep.png", lambda fh: fh.write(png), mode="wb")
    atomic_write_json(out / "sweep.json", {
        "method": method, "data": ds.name, "split": split, "n_samples": ds.n_samples,
        "sample_index_seed": 0 if sample is not None else None, "resample": resample, "params": params,
        "seeds": seed_list, "versions": library_versions(), "command": sys.argv, "best_k": best,
        "per_k": summary,
        "runs": [{k: v for k, v in r.items() if k not in ("labels", "index")} for r in rows],
    })
    click.echo(table.rstrip())
    click.echo(f"Wrote {out / 'sweep.md'}, sweep.json, sweep.png and {len(rows)} label files in {out / 'labels'}")


@cli.command("report")
@click.argument("run_dir", type=click.Path())
@click.option("--map", "map_method", type=click.Choice(["umap", "pca"]), default="umap", show_default=True,
              help="How embeddings with more than 2 dimensions are drawn in 2-d.")
def report_cmd(run_dir, map_method):
    """(Re)build RUN_DIR/report.html from the outputs of `deepclust run`."""
    from .viz import build_report

    click.echo(f"Wrote {build_report(run_dir, map_method=map_method)}")


@cli.command()
@click.argument("run_dir", type=click.Path())
@click.option("--out", "out", type=click.Path(), default=None, help="Where to write (default RUN_DIR/explorer.html).")
@click.option("--map", "map_method", type=click.Choice(["umap", "pca"]), default="umap", show_default=True,
              help="How embeddings with more than 2 dimensions are drawn in 2-d.")
@click.option("--per-cluster", type=click.IntRange(min=1), default=24, show_default=True,
              help="Members shown from each end of a cluster's confidence ranking.")
def explore(run_dir, out, map_method, per_cluster):
    """Write an explorer page for RUN_DIR: browse, name and flag clusters, download annotations as CSV."""
    from .viz.explorer import build_explorer

    click.echo(f"Wrote {build_explorer(run_dir, out, map_method=map_method, per_cluster=per_cluster)}")


@cli.command()
@click.argument("run_dir", type=click.Path())
@click.option("--to", "to", type=click.Choice(["folders", "csv"]), required=True,
              help="A folder per cluster, or one CSV of items and clusters.")
@click.option("--dest", type=click.Path(), default=None,
              help="Where to write (default RUN_DIR/export or RUN_DIR/clusters.csv).")
@click.option("--force", is_flag=True, help="Overwrite an existing destination.")
@click.option("--names", type=click.Path(), default=None,
              help="annotations.csv from `deepclust explore`: folders take the cluster names, flagged items "
                   "go into flagged/.")
def export(run_dir, to, dest, force, names):
    """Copy each item into a folder per cluster (or list them in a CSV) for annotation."""
    from .export import export_clusters

    if names is not None and to != "folders":
        raise InputError("--names applies to --to folders (the annotations file is already the CSV).")
    path = export_clusters(run_dir, to=to, dest=dest, force=force, names=names)
    click.echo(f"Wrote {path}")


@cli.command()
@click.option("--model", "model_dir", required=True, type=click.Path(), help="A model folder written by `run`.")
@click.option("--data", required=True, help="Dataset name or path with the same features as the training data.")
@click.option("--split", type=click.Choice(["all", "train", "test"]), default="all", show_default=True)
@click.option("--out", required=True, type=click.Path(), help="CSV file to write (index,cluster,confidence).")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
              help="Where a deep model runs (default: as saved, 'auto' unless set at training).")
def predict(model_dir, data, split, out, force, device):
    """Assign the samples of --data to the clusters of a saved model."""
    from .base import BaseClusterer
    from .data import load_dataset
    from .fileio import atomic_write
    from .run import labels_csv, saved_table_prep

    out = Path(out)
    if out.exists() and not force:
        raise InputError(f"Output file {out} already exists; pass --force to overwrite it.")
    _explain_missing_model(Path(model_dir))
    model = BaseClusterer.load(model_dir, device=device)
    ds = load_dataset(data, split=split, prep=saved_table_prep(Path(model_dir)))
    labels = model.predict(ds.X)
    conf = model.predict_proba(ds.X).max(axis=1) if hasattr(model, "_predict_proba") else None
    atomic_write(out, lambda fh: fh.write(labels_csv(labels, conf)))
    click.echo(f"Assigned {len(labels)} samples to {len(set(labels.tolist()))} clusters; wrote {out}")


@cli.command()
@click.argument("assignment", type=click.Path())
@click.option("--data", required=True, help="Dataset name or path the assignment was made on.")
@click.option("--split", type=click.Choice(["all", "train", "test"]), default="all", show_default=True)
@click.option("--labels", default=None, help="Label column of a table, or a file of labels (your own data).")
@click.option("--internal/--no-internal", default=True, show_default=True,
              help="Also compute silhouette, Calinski-Harabasz and Davies-Bouldin on the data's features.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the silhouette's sample.")
@click.option("--json", "json_out", type=click.Path(), default=None, help="Also write every figure to this JSON file.")
@click.option("--prep", type=click.Choice(["none", "standard"]), default="none", show_default=True,
              help="Prepare a table of your own as `run --prep standard` does (for the internal metrics).")
def score(assignment, data, split, labels, internal, seed, json_out, prep):
    """Score ASSIGNMENT (a clustering from any tool) against --data with deepclust's metrics.

    ASSIGNMENT is a .npy array, a text file with one cluster per line, or a CSV with a
    `cluster` column (an `index` column, as `run --sample` writes, names the scored rows).
    """
    from .fileio import atomic_write_json
    from .score import score_assignment, summary_line

    result = score_assignment(assignment, data, split=split, labels=labels, internal=internal, random_state=seed,
                              prep=prep)
    click.echo(summary_line(result))
    if json_out is not None:
        atomic_write_json(Path(json_out), result)
        click.echo(f"Wrote {json_out}")


@cli.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path())
@click.option("--out", required=True, type=click.Path(), help="Folder to write labels.csv and consensus.json into.")
@click.option("--method", type=click.Choice(["qmi", "medoid"]), default="qmi", show_default=True,
              help="qmi: k-means on the runs' cluster indicators (Topchy et al. 2005); "
                   "medoid: the run that agrees most with the others (Strehl & Ghosh 2002).")
@click.option("--n-clusters", type=int, default=None,
              help="Clusters of the qmi consensus (default: the runs' most common number).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the qmi k-means restarts.")
@click.option("--data", default=None, help="Also score the consensus against this dataset (name or path).")
@click.option("--split", type=click.Choice(["all", "train", "test"]), default="all", show_default=True)
@click.option("--labels", default=None, help="Label column of a table, or a file of labels (your own data).")
@click.option("--force", is_flag=True, help="Overwrite an earlier consensus in --out.")
def consensus(runs, out, method, n_clusters, seed, data, split, labels, force):
    """Combine several clusterings of the same samples (RUNS) into one, without labels.

    Each RUN is a `deepclust run` output folder or an assignment file (as `score` reads).
    Writes labels.csv (index, cluster, confidence = how far the runs agree with the consensus
    about the sample, 0 for noise) and consensus.json (the runs' pairwise ARI, each run's ARI
    and NMI to the consensus, and with --data the consensus' metrics).
    """
    import numpy as np

    from .consensus import consensus as combine
    from .consensus import read_runs
    from .fileio import atomic_write, atomic_write_json
    from .run import labels_csv

    out = Path(out)
    if (out / "consensus.json").exists() and not force:
        raise InputError(f"{out} already holds a consensus; pass --force to overwrite it.")
    label_runs, index = read_runs(runs)
    result = combine(label_runs, n_clusters, method=method, random_state=seed)
    summary = {"inputs": [str(r) for r in runs], **result.summary()}
    out.mkdir(parents=True, exist_ok=True)
    conf = np.nan_to_num(result.agreement, nan=0.0)
    atomic_write(out / "labels.csv", lambda fh: fh.write(labels_csv(result.labels, conf, index)))
    chosen = f" (run {result.medoid + 1}: {runs[result.medoid]})" if result.medoid is not None else ""
    agreement = summary["agreement_mean"] or 0.0  # None when every sample is noise
    click.echo(f"Combined {len(runs)} runs (stability, mean pairwise ARI: {summary['stability']:.4f}) into "
               f"{result.n_clusters} clusters by {method}{chosen}; mean agreement {agreement:.4f}.")
    click.echo("Each run's ARI to the consensus: " + ", ".join(f"{a:.4f}" for a in result.ari_to_consensus))
    if data is not None:
        from .score import score_assignment, summary_line

        summary["metrics"] = score_assignment(out / "labels.csv", data, split=split, labels=labels)
        click.echo(summary_line(summary["metrics"]))
    atomic_write_json(out / "consensus.json", summary)
    click.echo(f"Wrote {out / 'labels.csv'} and {out / 'consensus.json'}")


@cli.command()
@click.option("--methods", "methods_", required=True, help="Space- or comma-separated method names.")
@click.option("--data", "data", required=True, help="Space- or comma-separated dataset names or paths.")
@click.option("--seeds", default="0 1 2", show_default=True, help="Space- or comma-separated seeds.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Parameter for every run.")
@click.option("--n-clusters", type=int, default=None, help="Number of clusters for every run.")
@click.option("--sample", type=int, default=None, metavar="N",
              help="Every run clusters a random N-point subset of its data, drawn with the run's seed.")
@click.option("--timeout", type=float, default=None, help="Seconds after which a run is stopped and failed.")
@click.option("--out", type=click.Path(), default="benchmarks/runs", show_default=True)
@click.option("--rerun", is_flag=True,
              help="Run finished cells again too; the new line is appended and replaces the old one in tables.")
def bench(methods_, data, seeds, overrides, n_clusters, sample, timeout, out, rerun):
    """Run methods x datasets x seeds (resumable) and write results.jsonl and table.md.

    A cell is skipped when OUT already holds a finished run of the same experiment: the same
    method, data, seed and settings, where settings are the parameters that differ from the
    method's defaults today (an override that repeats a default changes nothing)."""
    from .bench import run_bench
    from .registry import make_estimator

    names = split_list(methods_)
    for name in names:
        make_estimator(name)  # unknown names fail before any work starts
    seed_list = parse_seeds(seeds)
    parse_assignments(overrides)
    rows = run_bench(names, split_list(data), seed_list, out, overrides=overrides, n_clusters=n_clusters,
                     sample=sample, timeout=timeout, rerun=rerun)
    click.echo((Path(out) / "table.md").read_text())
    failed = sum(r.get("status") != "ok" for r in rows)
    if failed:
        click.echo(f"{failed} run(s) failed; see {Path(out) / 'results.jsonl'}.", err=True)


@cli.command()
@click.argument("results", nargs=-1, required=True, type=click.Path())
def table(results):
    """Print the markdown table (median [min, max]) of one or more results.jsonl files."""
    from .bench import markdown_table, read_results

    rows = [r for path in results for r in read_results(Path(path))]
    click.echo(markdown_table(rows))


@cli.command()
@click.argument("spec", type=click.Path())
@click.option("--out", type=click.Path(), default=None, help="File to write (default: print it).")
@click.option("--root", type=click.Path(), default=".", show_default=True,
              help="Folder the spec's result paths are relative to (the repository root).")
def results(spec, out, root):
    """Build RESULTS.md (our figures beside the seeds' tables) from recorded JSON lines."""
    from .fileio import atomic_write_text
    from .results import load_spec, render_results

    text = render_results(load_spec(spec), Path(root), spec_path=spec)
    if out is None:
        click.echo(text)
    else:
        atomic_write_text(Path(out), text)
        click.echo(f"Wrote {out}")


def _explain_missing_model(model_dir: Path) -> None:
    """When `run` wrote no model because the method cannot predict, say so plainly."""
    record = model_dir.parent / "run.json"
    if model_dir.exists() or not record.is_file():
        return
    try:
        method = yaml.safe_load(record.read_text(encoding="utf-8")).get("method", "?")
    except (yaml.YAMLError, AttributeError):
        return
    from .registry import make_estimator

    why = "cannot assign new data to clusters" if not make_estimator(method).can_predict else (
        "cannot be saved to a model file (use the fitted estimator in Python to predict)")
    raise InputError(f"Method {method!r} {why}, so its run saved no model in {model_dir}.")


def main(argv=None) -> int:
    """Entry point: run the CLI, turning user errors into one sentence and exit status 2."""
    try:
        cli.main(args=argv, prog_name="deepclust", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except TrainingInterrupted as exc:
        click.echo(f"Interrupted: {exc}", err=True)
        return 130
    except (DeepclustError, FileNotFoundError) as exc:
        click.echo(f"Error: {exc}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
