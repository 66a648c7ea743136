package attnc.lower;

import attnc.ir.Index;
import attnc.ir.Pattern;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A pattern as every kernel reads it: its parts lowered to {@link Program}s once, by
 * {@link LowerPattern}, and the facts kernels decide their shape by. Forward, backward, decode
 * and paged kernels, on every backend, are renderings of this record; none lowers an
 * expression or re-derives a fact itself.
 *
 * @param pattern    the optimised pattern these programs come from (names, inputs, params, docs)
 * @param visibility mask ∧ select: whether (b, h, q, kv) is kept
 * @param score      the score expression over s (the scaled q·k)
 * @param scale      the per-row factor of q·k
 * @param norm       how scores become weights
 * @param output     the output expression over o (one element of the normalised sum of V)
 */
public record LoweredPattern(Pattern pattern, Program visibility, Program score, Program scale, LoweredNorm norm, Program output) {

    /** The checker's independence rules, asserted where every kernel can rely on them. */
    public LoweredPattern {
        requireIndependent(scale, "the scale", Index.KV, Index.D);
        norm.value().ifPresent(v -> requireIndependent(v, "the normalisation's value", Index.KV, Index.D));
        requireIndependent(output, "the output", Index.KV);
        requireIndependent(score, "the score", Index.D);
        requireIndependent(visibility, "the mask", Index.D);
    }

    private static void requireIndependent(Program program, String part, Index... indices) {
        for (Index i : indices) {
            if (program.dependsOn(program.result()).contains(i)) {
                throw new IllegalArgumentException(part + " may not depend on " + i.name().toLowerCase(java.util.Locale.ROOT));
            }
        }
    }

    public String name() { return pattern.name(); }

    /** The same pattern with these launch sizes fixed as constants ({@link BindSizes}). */
    public LoweredPattern withSizes(java.util.Map<String, Integer> sizes) {
        LoweredNorm boundNorm = switch (norm) {
            case LoweredNorm.Softmax(var sink) -> new LoweredNorm.Softmax(sink.map(p -> BindSizes.bind(p, sizes)));
            case LoweredNorm.Sigmoid(Program bias) -> new LoweredNorm.Sigmoid(BindSizes.bind(bias, sizes));
            case LoweredNorm.Identity identity -> identity;
        };
        return new LoweredPattern(pattern, BindSizes.bind(visibility, sizes), BindSizes.bind(score, sizes), BindSizes.bind(scale, sizes), boundNorm,
                BindSizes.bind(output, sizes));
    }

    /** Every (q, kv) is kept by construction: no mask code, no tile lists beyond the ragged last tile. */
    public boolean alwaysVisible() { return visibility.isConstant(true); }

    /** The score is s itself. */
    public boolean identityScore() { return score.resultInstr() instanceof Instr.Score; }

    /** The term t when the score is s + t with t free of s ({@link ScoreTerm}); empty for the identity score and every other form. */
    public java.util.Optional<Program> scoreTerm() { return ScoreTerm.of(score); }

    /** The output is o itself. */
    public boolean identityOutput() { return output.resultInstr() instanceof Instr.Output; }

    /**
     * The visibility reads input tensors (document ids, block lists): which tiles are visible
     * depends on data, so tile lists are built from the inputs at launch.
     */
    public boolean readsInputs() { return !visibility.inputs().isEmpty(); }

    /** Softmax rows have a log-sum-exp; sigmoid and unnormalised rows have none. */
    public boolean writesLse() { return norm instanceof LoweredNorm.Softmax; }

    /** The visibility changes with the batch (or head) index: tile lists are per batch (head). */
    public boolean visibilityDependsOn(Index index) { return visibility.dependsOn(visibility.result()).contains(index); }

    /**
     * The scale is positive for every row (the default 1/sqrt(D), or a positive constant): with
     * softmax and no score expression, it can be folded into the exponent's argument.
     */
    public boolean positiveScale() {
        return pattern.scale().equals(Pattern.DEFAULT_SCALE) || scale.resultInstr() instanceof Instr.FloatConst(double v) && v > 0;
    }

    /** Input tensors any part reads, in declaration order. */
    public Set<String> inputs() {
        Set<String> all = new LinkedHashSet<>();
        for (var input : pattern.inputs()) {
            String name = input.name();
            boolean read = visibility.inputs().contains(name) || score.inputs().contains(name) || scale.inputs().contains(name)
                    || output.inputs().contains(name) || norm.value().map(v -> v.inputs().contains(name)).orElse(false);
            if (read) all.add(name);
        }
        return all;
    }

    /** The lowered stage as {@code attnc explain} prints it: facts, then each program. */
    public String describe() {
        StringBuilder text = new StringBuilder();
        text.append("facts: ").append(alwaysVisible() ? "always visible" : readsInputs() ? "visibility reads " + visibility.inputs() : "visibility from indices")
                .append(identityScore() ? ", score = s" : "").append(identityOutput() ? ", output = o" : "")
                .append(writesLse() ? ", writes LSE" : ", no LSE").append(positiveScale() ? ", positive scale" : "").append("\n");
        section(text, "visibility", visibility);
        section(text, "scale", scale);
        section(text, "score", score);
        switch (norm) {
            case LoweredNorm.Softmax(var sink) -> sink.ifPresentOrElse(s -> section(text, "norm softmax, sink", s), () -> text.append("norm softmax\n"));
            case LoweredNorm.Sigmoid(Program bias) -> section(text, "norm sigmoid, bias", bias);
            case LoweredNorm.Identity() -> text.append("norm none\n");
        }
        section(text, "output", output);
        return text.toString();
    }

    private static void section(StringBuilder text, String title, Program program) {
        text.append(title).append(":\n");
        program.toString().lines().forEach(line -> text.append("  ").append(line).append("\n"));
    }
}
