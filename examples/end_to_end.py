"""End to end in Python: load -> split -> forget set -> train -> unlearn -> evaluate.

Run: `python examples/end_to_end.py` (about half a minute on 2 CPU cores). The same code is
shown in docs/user_guide.md ("Python API, end to end"); tests/robustness runs it.
"""

from cure4rec.context import RunContext
from cure4rec.data.load import load_dataset, split_dataset
from cure4rec.forget.select import make_forget_split
from cure4rec.methods.base import METHODS
from cure4rec.methods.retrain import retrain_references
from cure4rec.metrics.evaluator import EvaluatorConfig, evaluate_cell
from cure4rec.models.base import ModelSpec

# 1. Data: a dataset card (or a folder of RecBole atomic files), split 80/10/10.
ds = load_dataset("synthetic", n_users=200, n_items=120, n_interactions=4000)
split = split_dataset(ds, seed=0)

# 2. Forget set: 5% of users, the most active first ("core"); fs.sha256 pins it.
fs = make_forget_split(split, "core", 0.05, seed=0)

# 3. Learn on the full train set, then unlearn the request.
model = ModelSpec("bpr", {"dim": 16, "epochs": 5})
method = METHODS.get("sisa")(model, {"shards": 2})
ctx = RunContext(seed=0)
state = method.learn(fs.train, ctx, valid=fs.valid)
result = method.unlearn(state, fs.request, ctx)

# 4. References: N >= 3 models retrained from scratch on the retained data (8 in the
#    recipes); `seeds` lists reference indices (seed paths retrain-reference/<j>), not a count.
refs = retrain_references(model, fs.retain, fs.valid, ctx, seeds=range(4))

# 5. Evaluate all four aspects. For an ensemble (SISA, RecEraser, UltraRE) pass a single
#    plain model as `attack_template`: the membership attacks clone its architecture.
res = evaluate_cell(fs, state.model, result.model, refs, ctx,
                    config=EvaluatorConfig(bootstrap=0), attack_template=refs[0],
                    learn_timing=state.timing, unlearn_timing=result.timing)
for key in ("utility.ndcg@20", "completeness.calibrated", "completeness.calibrated.p",
            "efficiency.unlearn_wall_s"):
    print(f"{key:36s} {res.metrics[key]:.4f}")
verdict = {1: "remembers", 0: "indistinguishable", -1: "over-forgets"}
print("verdict:", verdict[int(res.metrics["completeness.calibrated.verdict"])])
print(f"split {fs.split_id} sha256 {fs.sha256[:12]}; {len(res.metrics)} metrics in all")
