"""Every shipped method passes the conformance kit (toy MF model, toy data)."""

from cure4rec.testing import TOY_MODEL, MethodConformance


class TestRetrain(MethodConformance):
    method, model, exact = "retrain", TOY_MODEL, True


class TestSISA(MethodConformance):
    method, model, exact = "sisa", TOY_MODEL, True
    config = {"shards": 3, "slices": 2}


class TestRecEraser(MethodConformance):
    """Published behaviour (partition once on D): approximate w.r.t. A(D − D_f)."""

    method, model, exact = "receraser", TOY_MODEL, False
    config = {"shards": 3, "agg_epochs": 10}


class TestRecEraserStrict(MethodConformance):
    method, model, exact = "receraser", TOY_MODEL, True
    config = {"shards": 3, "agg_epochs": 10, "strict": True}


class TestRecEraserMiniBatchStrict(MethodConformance):
    """The public code's aggregator training (mini-batch passes) keeps strict exactness."""

    method, model, exact = "receraser", TOY_MODEL, True
    config = {"shards": 3, "agg_epochs": 2, "agg_batch": 64, "strict": True}


class TestRecEraserOwnShardStrict(MethodConformance):
    method, model, exact = "receraser", TOY_MODEL, True
    config = {"shards": 3, "serve": "own-shard", "strict": True}


class TestUltraRE(MethodConformance):
    method, model, exact = "ultrare", TOY_MODEL, False
    config = {"shards": 3, "lr_steps": 50}


class TestUltraREStrict(MethodConformance):
    method, model, exact = "ultrare", TOY_MODEL, True
    config = {"shards": 3, "lr_steps": 50, "strict": True}


class TestFineTune(MethodConformance):
    method, model, exact = "finetune", TOY_MODEL, False


class TestGradientAscent(MethodConformance):
    method, model, exact = "gradient-ascent", TOY_MODEL, False


class TestNegGradPlus(MethodConformance):
    method, model, exact = "gradient-ascent+retain", TOY_MODEL, False


class TestSCIFPaper(MethodConformance):
    method, model, exact = "scif", TOY_MODEL, False


class TestSCIFIfru(MethodConformance):
    method, model, exact = "scif", TOY_MODEL, False
    config = {"variant": "ifru"}


class TestThirdParty(MethodConformance):
    method, model, exact = "examples.third_party_method:LastEpochs", TOY_MODEL, False
