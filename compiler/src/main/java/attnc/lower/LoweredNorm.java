package attnc.lower;

import java.util.Optional;

/**
 * How a row of scores becomes weights ({@link attnc.ir.Norm}), with its value already lowered.
 * A new kind touches the checker, the reference, this type and one switch per kernel.
 */
public sealed interface LoweredNorm {

    /** The per-row value the rule reads (the sink logit, the sigmoid's bias), if any. */
    Optional<Program> value();

    /** Softmax over kv; the sink logit, when present, joins the denominator only. */
    record Softmax(Optional<Program> sink) implements LoweredNorm {
        public Optional<Program> value() { return sink; }
    }

    /** Each weight is sigmoid(score + bias); no row sum. */
    record Sigmoid(Program bias) implements LoweredNorm {
        public Optional<Program> value() { return Optional.of(bias); }
    }

    /** The score is the weight. */
    record Identity() implements LoweredNorm {
        public Optional<Program> value() { return Optional.empty(); }
    }
}
