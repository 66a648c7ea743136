package attnc.launch;

import attnc.tensor.Tensor;

/**
 * Sequence b of a ragged launch as the dense {@link Problem} it stands for: what every ragged
 * result is checked against. The problem has the batch's B (so the pattern sees b and B as the
 * ragged launch does), every batch index holding sequence b's queries and keys (views of stride
 * 0 over b's queries and over its keys, gathered once from the pages into [Hkv, Nkv, D]), the
 * sequence's view of each input and its bottom-right query offset. Of its output, the rows of
 * batch index b ({@link #rows}) are sequence b's.
 */
public final class DenseEquivalent {
    private DenseEquivalent() {}

    public static Problem of(RaggedBinding binding, RaggedBatch batch, int b) {
        RaggedBinding.Sequence sequence = binding.sequences().get(b);
        int sequences = binding.batch(), heads = binding.heads(), nq = sequence.queries();
        Tensor q = batch.q();
        Tensor dq = q.view(new int[] {sequences, heads, nq, binding.headDim()}, new long[] {0, q.stride(1), q.stride(0), q.stride(2)},
                q.offset() + (long) sequence.firstQuery() * q.stride(0));
        return new Problem(dq, keys(binding, batch.cache().k(), b), keys(binding, batch.cache().v(), b), sequence.inputs(),
                batch.params(), sequence.queryOffset());
    }

    /** The flat rows ((b·H + h)·Nq + i, ascending) of sequence b in its dense problem's output [B, H, Nq, Dv]. */
    public static int[] rows(RaggedBinding binding, int b) {
        int nq = binding.sequences().get(b).queries(), heads = binding.heads();
        int[] rows = new int[heads * nq];
        for (int i = 0; i < rows.length; i++) rows[i] = b * heads * nq + i;
        return rows;
    }

    /** [B, Hkv, Nkv, width], every batch index the same float32 copy of sequence b's rows. */
    private static Tensor keys(RaggedBinding binding, Tensor pool, int b) {
        int nkv = binding.sequences().get(b).keys(), kvHeads = binding.kvHeads(), width = pool.dim(3);
        float[] data = new float[Math.toIntExact(Memory.elements("a sequence's keys [Hkv, Nkv, width]", kvHeads, nkv, width))];
        for (int hk = 0; hk < kvHeads; hk++) System.arraycopy(binding.gather(pool, b, hk, 0, nkv), 0, data, hk * nkv * width, nkv * width);
        return Tensor.wrap(data, data.length).view(new int[] {binding.batch(), kvHeads, nkv, width}, new long[] {0, (long) nkv * width, width, 1}, 0);
    }
}
