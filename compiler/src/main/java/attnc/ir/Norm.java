package attnc.ir;

import java.util.Optional;

/** How a row of scores becomes weights. */
public sealed interface Norm {

    /** Softmax over kv; an optional sink logit (per head, usually) joins the denominator only. */
    record Softmax(Optional<Expr> sink) implements Norm {}

    /** Each weight is sigmoid(score + bias), with no normalisation across the row. */
    record Sigmoid(Expr bias) implements Norm {}

    /** The score is the weight as it is (decayed linear attention in quadratic form). */
    record Identity() implements Norm {}
}
