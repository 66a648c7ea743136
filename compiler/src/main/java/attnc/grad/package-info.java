/**
 * The derivative pass: what a backward kernel evaluates besides the forward's programs.
 *
 * <p>{@link attnc.grad.DifferentiatePattern#differentiate} gives a pattern's
 * {@link attnc.grad.Derivatives}: d score/d s, d output/d o, and one
 * {@link attnc.grad.LoadPartial} per float load site of the score, scale, norm value and output
 * ({@link attnc.grad.Section}). Each is an ordinary, let-shared IR expression over its section's
 * environment (b, h, q and kv with s for the score; b, h, q, d with o for the output; b, h, q for
 * the scale and the norm value), so a kernel lowers it like the forward's expressions.
 *
 * <p>For a backward kernel, per element of a section: evaluate the partial, multiply by the
 * section's upstream gradient (documented on {@link attnc.grad.Section}), and add the product
 * into the input's gradient at the element the site's load reads. What the site's indices depend
 * on ({@link attnc.grad.LoadPartial#dependsOn}) decides the reduction: indices free of kv sum
 * over kv within the row (as dq), free of q sum over q within the column (as dk), free of both
 * sum per head; indices free of b or h (a per-head slope, a table shared by the batch) sum
 * across what different thread blocks compute, hence atomics or a second pass. Two elements may
 * add into one gradient element even when the indices read q and kv (bucketed tables), so
 * gradients are always added, never stored.
 *
 * <p>How: lets are inlined ({@link attnc.grad.InlineLets}) so that a load site is its closed
 * expression; {@link attnc.grad.FloatLoadSites} finds the loads a derivative can reach;
 * {@link attnc.grad.Differentiate} differentiates forward-mode with PyTorch's conventions at
 * non-differentiable points; the results are folded, simplified and shared by the forward's passes.
 */
package attnc.grad;
