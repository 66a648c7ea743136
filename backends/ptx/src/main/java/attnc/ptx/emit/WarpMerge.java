package attnc.ptx.emit;

import attnc.lower.LoweredPattern;

/**
 * The end of a split-KV decode block whose warps shared its rows, each over its own keys of every
 * tile ({@link KernelConfig#warpKeys}): the warps' partials are merged in shared memory into the
 * block's one, so that the merge entry reads one partial a block, as from a block whose warps held
 * rows of their own. Softmax partials combine by their maxima: with M the largest of the warps'
 * (base-2) row maxima m_w and L = Σ l_w 2^(m_w − M), o = Σ o_w 2^(m_w − M) / L and LSE = ln 2 · (M
 * + log2 L); a row no warp saw gives 0 and −∞. Sigmoid and unnormalised partials are sums.
 */
final class WarpMerge {
    private final PtxWriter out;
    private final KernelConfig config;
    private final boolean softmax;
    private final int rows, valueCols;

    WarpMerge(PtxWriter out, LoweredPattern lowered, KernelConfig config, int rows, int valueCols) {
        this.out = out;
        this.config = config;
        this.softmax = lowered.writesLse();
        this.rows = rows;
        this.valueCols = valueCols;
        if (config.warps() * config.blockM() * config.valueDim() * 4 > config.stages() * config.vStageBytes()) {
            throw new IllegalArgumentException("the warps' o do not fit the V stages: " + config.tag());
        }
    }

    /**
     * Each warp's row maxima and sums to shared memory (over the K stages), each row's merged
     * scale and LSE from all of them, each warp's scaled o (over the V stages, which hold it: 64
     * keys of Dv bf16 values a stage take as many bytes as 16 rows of Dv fp32 values from 4 warps
     * over two stages), then the sums over the warps stored by every thread, 16 bytes at a time.
     */
    void emit() {
        out.comment("the warps' partials over their shares of the keys, merged through shared memory: one partial a block");
        out.op("bar.sync", 0);
        String[] scales = softmax ? rowScales() : null;
        String base = out.u32("%merge_o_addr"), row = out.s32("%merge_row");
        for (int r = 0; r < rows; r++) {
            // fp32 element (warp · rows + row) · Dv + 2t, 8 bytes a column pair.
            out.op("mad.lo.s32", row, "%warp", config.blockM(), "%row_r" + r);
            out.op("mad.lo.s32", row, row, config.valueDim() / 2, "%t");
            out.op("shl.b32", row, row, 3);
            out.op("add.u32", base, "%smem_v", row);
            for (int c = 0; c < valueCols; c += 2) {
                String first = Fragments.accAt(r, c), second = Fragments.accAt(r, c + 1);
                if (scales != null) {
                    out.op("mul.f32", first, first, scales[r]);
                    out.op("mul.f32", second, second, scales[r]);
                }
                out.op("st.shared.v2.f32", "[" + base + "+" + (c / 2) * 32 + "]", "{" + first + ", " + second + "}");
            }
        }
        out.op("bar.sync", 0);
        sumAndStore();
    }

    /**
     * The scale of each of this thread's rows, 2^(m_own − M) / L, and its merged LSE ({@code %lse_r}),
     * after the warps' maxima and quad-summed row sums have met in shared memory.
     */
    private String[] rowScales() {
        String address = out.u32("%merge_stat_addr"), offset = out.s32("%merge_stat_off"), writer = out.pred("%merge_stat_writer");
        out.op("setp.eq.s32", writer, "%t", 0);
        for (int r = 0; r < rows; r++) {
            String sum = "%row_sum_r" + r;
            Shuffles.butterfly(out, "add.f32", sum, out.f32("%shuffled"), 1, 2);
            out.op("mad.lo.s32", offset, "%warp", config.blockM(), "%row_r" + r);
            out.op("shl.b32", offset, offset, 3);
            out.op("add.u32", address, "%smem_k", offset);
            out.op("@" + writer + " st.shared.v2.f32", "[" + address + "]", "{%row_max_r" + r + ", " + sum + "}");
        }
        out.op("bar.sync", 0);
        String[] scales = new String[rows];
        for (int r = 0; r < rows; r++) {
            String top = out.f32("%merge_max_r" + r), total = out.f32("%merge_sum_r" + r), safe = out.f32("%merge_safe_r" + r);
            String[] maxima = new String[config.warps()], sums = new String[config.warps()];
            out.op("shl.b32", offset, "%row_r" + r, 3);
            out.op("add.u32", address, "%smem_k", offset);
            out.op("mov.f32", top, FlashEmitter.NEG_INF);
            for (int w = 0; w < config.warps(); w++) {
                maxima[w] = out.f32("%merge_m" + w);
                sums[w] = out.f32("%merge_l" + w);
                out.op("ld.shared.v2.f32", "{" + maxima[w] + ", " + sums[w] + "}", "[" + address + "+" + w * config.blockM() * 8 + "]");
                out.op("max.f32", top, top, maxima[w]);
            }
            // M = −∞ (no warp saw the row): 0 instead, so that every 2^(m_w − M) is 0, never NaN.
            String empty = out.pred("%merge_empty_r" + r);
            out.op("setp.eq.f32", empty, top, FlashEmitter.NEG_INF);
            out.op("selp.f32", safe, "0f00000000", top, empty);
            out.op("mov.f32", total, "0f00000000");
            String weight = out.f32("%merge_weight");
            for (int w = 0; w < config.warps(); w++) {
                out.op("sub.f32", weight, maxima[w], safe);
                out.op("ex2.approx.ftz.f32", weight, weight);
                out.op("fma.rn.f32", total, sums[w], weight, total);
            }
            String scale = scales[r] = out.f32("%merge_scale_r" + r), lse = out.f32("%lse_r" + r);
            out.op("setp.le.f32", empty, total, "0f00000000");
            out.op("sub.f32", scale, "%row_max_r" + r, safe);
            out.op("ex2.approx.ftz.f32", scale, scale);
            out.op("div.rn.f32", scale, scale, total);
            out.op("selp.f32", scale, "0f00000000", scale, empty);
            out.op("lg2.approx.f32", lse, total);
            out.op("add.f32", lse, lse, safe);
            out.op("mul.f32", lse, lse, FlashEmitter.LN2);
            out.op("selp.f32", lse, FlashEmitter.NEG_INF, lse, empty);
        }
        return scales;
    }

    /**
     * Every thread sums the warps' o over 16-byte chunks of the block's rows (chunk e: row e /
     * (Dv / 4), columns 4 · (e % (Dv / 4)) on) and stores the rows inside Nq; the first warp's
     * quad leaders store the LSEs.
     */
    private void sumAndStore() {
        int perRow = config.valueDim() / 4, chunks = config.blockM() * perRow, threads = config.threads();
        String chunk = out.s32("%merge_chunk"), row = out.s32("%merge_row"), column = out.s32("%merge_col"), rowIndex = out.s32("%out_row");
        String address = out.u32("%merge_o_addr"), global = out.u64("%out_addr"), index = out.u64("%merge_index"), inside = out.pred("%row_inside");
        String[] sum = {out.f32("%merge_o0"), out.f32("%merge_o1"), out.f32("%merge_o2"), out.f32("%merge_o3")};
        String[] part = {out.f32("%merge_p0"), out.f32("%merge_p1"), out.f32("%merge_p2"), out.f32("%merge_p3")};
        for (int pass = 0; pass * threads < chunks; pass++) {
            String skip = out.newLabel("merge_chunk_outside");
            out.op("add.s32", chunk, "%thread", pass * threads);
            out.op("div.s32", row, chunk, perRow);
            out.op("rem.s32", column, chunk, perRow);
            Epilogue.rowInside(out, row, rowIndex, inside);
            if ((pass + 1) * threads > chunks) {
                String whole = out.pred("%merge_chunk_in");
                out.op("setp.lt.s32", whole, chunk, chunks);
                out.op("and.pred", inside, inside, whole);
            }
            out.op("@!" + inside + " bra", skip);
            out.op("mad.lo.s32", chunk, row, perRow, column);
            out.op("shl.b32", chunk, chunk, 4);
            out.op("add.u32", address, "%smem_v", chunk);
            for (int w = 0; w < config.warps(); w++) {
                String[] into = w == 0 ? sum : part;
                out.op("ld.shared.v4.f32", "{" + String.join(", ", into) + "}", "[" + address + "+" + w * config.blockM() * config.valueDim() * 4 + "]");
                if (w > 0) for (int j = 0; j < 4; j++) out.op("add.f32", sum[j], sum[j], part[j]);
            }
            Epilogue.globalRow(out, config, rowIndex);
            out.op("mad.lo.s32", rowIndex, rowIndex, perRow, column);
            out.op("mul.wide.s32", index, rowIndex, 16);
            out.op("add.s64", global, "%out", index);
            out.op("st.global.v4.f32", "[" + global + "]", "{" + String.join(", ", sum) + "}");
            out.label(skip);
        }
        if (!softmax) return;
        String writer = out.pred("%lse_writer"), condition = out.pred("%merge_lse_cond");
        out.op("setp.ne.u64", writer, "%lse", 0);
        out.op("setp.eq.s32", condition, "%warp", 0);
        out.op("and.pred", writer, writer, condition);
        out.op("setp.eq.s32", condition, "%t", 0);
        out.op("and.pred", writer, writer, condition);
        for (int r = 0; r < rows; r++) {
            String skip = out.newLabel("merge_row_outside");
            Epilogue.rowInside(out, "%row_r" + r, rowIndex, inside);
            out.op("@!" + inside + " bra", skip);
            Epilogue.globalRow(out, config, rowIndex);
            Epilogue.storeLse(out, rowIndex, writer, "%lse_r" + r);
            out.label(skip);
        }
    }
}
