package attnc.grad;

import attnc.ir.Index;
import java.util.EnumSet;
import java.util.Set;

/**
 * The parts of a pattern that carry a gradient, each with the iteration space it is evaluated
 * over and the upstream gradient a kernel multiplies its partials by. Masks and selections have
 * none (they are piecewise constant).
 */
public enum Section {
    /**
     * The score, per visible (b, h, q, kv), with {@code s} bound. Upstream: dS, the gradient with
     * respect to the score's value, from the norm's rule (softmax P∘(dP − rowsum(dO∘O)), sigmoid
     * dP∘P(1−P), none dP).
     */
    SCORE("score", EnumSet.of(Index.B, Index.H, Index.Q, Index.KV)),
    /**
     * The scale, per (b, h, q). Upstream: Σ over visible kv of dS · (d score/d s) · (q·k), which
     * equals (q · dq) / scale for a non-zero scale: a kernel can take it from the row's dq once
     * the row is done, with no reduction of its own.
     */
    SCALE("scale", EnumSet.of(Index.B, Index.H, Index.Q)),
    /**
     * The norm's own value (the softmax sink logit z or the sigmoid bias), per (b, h, q). Upstream:
     * for the sink, −exp(z − LSE) · rowsum(dO∘O); for the bias, Σ over visible kv of dS.
     */
    NORM("norm", EnumSet.of(Index.B, Index.H, Index.Q)),
    /** The output transform, per (b, h, q, d), with {@code o} bound. Upstream: dOut. */
    OUTPUT("output", EnumSet.of(Index.B, Index.H, Index.Q, Index.D));

    private final String spelling;
    private final Set<Index> over;

    Section(String spelling, Set<Index> over) {
        this.spelling = spelling;
        this.over = over;
    }

    public String spelling() { return spelling; }

    /** The indices the section is evaluated over. */
    public Set<Index> over() { return EnumSet.copyOf(over); }
}
