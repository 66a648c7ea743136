package attnc.ptx.emit;

import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Sizes;
import attnc.ir.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The parameter list that every kernel of a pattern's launch shares, in order: tensors (for the
 * forward q, k, v, out, lse, pre_out where the output is transformed, the tile list), tensor maps (the wgmma path), the pattern's inputs,
 * the launch sizes, the symbolic sizes of inputs, and the pattern's params. The Java launcher and
 * the exported manifest both follow it. The backward's kernels have their own tensors and sizes
 * ({@link BackwardElements#signature}).
 */
public record Signature(List<String> tensors, List<String> tensorMaps, List<String> inputs, List<String> sizes, List<String> extraSizes,
                        List<Param> params) {
    public static final List<String> TENSORS = List.of("q", "k", "v", "out", "lse", "tiles");
    /**
     * A pattern with an output transform also takes {@code pre_out}: where to keep o, the
     * normalised sum before the transform (fp32 [B, H, Nq, Dv], for the backward), or null.
     */
    public static final List<String> WITH_PRE_OUTPUT = List.of("q", "k", "v", "out", "lse", "pre_out", "tiles");
    /** The PTX type of a tensor-map parameter: a 128-byte CUtensorMap passed by value, 64-byte aligned. */
    public static final String TENSOR_MAP = ".tensormap";
    /** The size a GQA-packed decode kernel also takes: the queries of one head, whose rows it packs group by group. */
    public static final String PACKED_NQ = "packed_nq";
    /** What a paged decode kernel also takes: the block table int32 [B, max_pages] and kv_lengths int32 [B]; log2 of the page size and max_pages. */
    public static final List<String> PAGED_TENSORS = List.of("block_table", "kv_lengths"), PAGED_SIZES = List.of("page_shift", "max_pages");
    /**
     * What a split-KV decode kernel also takes, last of its tensors: counters int32 [grid x · grid y]
     * (zero, and left zero) with which the last block of each query block to finish merges the
     * splits into the merged output and LSE (and o before the transform); a null counters pointer
     * leaves the merge to the merge entry.
     */
    public static final List<String> MERGE_TENSORS = List.of("merge_counters", "merged_out", "merged_lse"), MERGED_PRE_OUTPUT = List.of("merged_pre_out");
    /**
     * What a ragged prefill kernel ({@link Decode#RAGGED}) also takes, after the paged tensors: the
     * queries' offsets int32 [B + 1] and the work list int32 [entries, 4] (b, h, query block, offset
     * of the entry's tile list in tiles); with an input whose shape names Nq, Nkv or Q0, the byte
     * offset of each sequence's copy of each such input, int64 [B, those inputs] ({@link #raggedInputs}).
     */
    public static final List<String> RAGGED_TENSORS = List.of("query_starts", "work"), RAGGED_INPUT_OFFSETS = List.of("input_offsets");
    /** The sizes a ragged batch gives each sequence its own value of. */
    public static final Set<String> PER_SEQUENCE = Set.of("Nq", "Nkv", "Q0");
    public static final List<String> SIZES = List.of("B", "H", "Hkv", "Nq", "Nkv", "query_offset", "kv_tiles", "slots_h", "slot_stride_b", "slot_stride_h");

    /**
     * The parameters of {@code config}'s kernels: the wgmma path also takes TMA tensor maps of Q, K
     * and V (but for a ragged batch); a GQA-packed decode kernel, after the sizes, the queries per head ({@code packed_nq}); a paged one
     * the block table and kv lengths after the tensors, the page shift and max_pages after the sizes;
     * a ragged prefill kernel those and {@link #RAGGED_TENSORS} (and the input offsets).
     */
    public static Signature of(Pattern pattern, KernelConfig config) {
        Signature plain = of(pattern);
        if (config.decode().splits()) {
            List<String> tensors = new ArrayList<>(plain.tensors()), sizes = new ArrayList<>(SIZES);
            if (config.decode().packs()) sizes.add(PACKED_NQ);
            if (config.decode().pages()) {
                tensors.addAll(PAGED_TENSORS);
                sizes.addAll(PAGED_SIZES);
            }
            tensors.addAll(MERGE_TENSORS);
            if (plain.tensors().contains("pre_out")) tensors.addAll(MERGED_PRE_OUTPUT);
            plain = plain.with(tensors, sizes);
        } else if (config.decode().ragged()) {
            List<String> tensors = new ArrayList<>(plain.tensors()), sizes = new ArrayList<>(SIZES);
            tensors.addAll(PAGED_TENSORS);
            tensors.addAll(RAGGED_TENSORS);
            if (!raggedInputs(pattern).isEmpty()) tensors.addAll(RAGGED_INPUT_OFFSETS);
            sizes.addAll(PAGED_SIZES);
            plain = plain.with(tensors, sizes);
        }
        // The ragged wgmma kernel copies with cp.async (rows through the block table, packed queries): no tensor maps.
        return config.schedule().wgmma() && !config.decode().ragged() ? plain.withTensorMaps(List.of("q", "k", "v")) : plain;
    }

    public static Signature of(Pattern pattern) {
        TreeSet<String> extra = new TreeSet<>();
        for (Input input : pattern.inputs()) {
            for (Expr dim : input.shape()) {
                ExprTree.any(dim, e -> {
                    if (e instanceof Expr.SizeRef(String name) && !Sizes.STANDARD.contains(name)) extra.add(name);
                    return false;
                });
            }
        }
        List<String> tensors = pattern.output() instanceof attnc.ir.Expr.OutputRef ? TENSORS : WITH_PRE_OUTPUT;
        return new Signature(tensors, List.of(), pattern.inputs().stream().map(Input::name).toList(), SIZES, List.copyOf(extra), pattern.params());
    }

    /**
     * The inputs whose declared shape names Nq, Nkv or Q0, in declaration order: in a ragged batch
     * each sequence sees its own extent of them, so the ragged kernel reads each sequence's copy.
     */
    public static List<String> raggedInputs(Pattern pattern) {
        return pattern.inputs().stream()
                .filter(input -> input.shape().stream().anyMatch(dim -> ExprTree.any(dim, e -> e instanceof Expr.SizeRef(String n) && PER_SEQUENCE.contains(n))))
                .map(Input::name).toList();
    }

    public Signature withTensorMaps(List<String> maps) { return new Signature(tensors, maps, inputs, sizes, extraSizes, params); }

    /** The same inputs, symbolic sizes and params with other tensors and launch sizes. */
    public Signature with(List<String> otherTensors, List<String> otherSizes) {
        return new Signature(otherTensors, tensorMaps, inputs, otherSizes, extraSizes, params);
    }

    /** Every parameter as (PTX type, name), in launch order. */
    public List<String[]> declarations() {
        List<String[]> all = new ArrayList<>();
        for (String t : tensors) all.add(new String[] {".u64", "p_" + t});
        for (String t : tensorMaps) all.add(new String[] {TENSOR_MAP, "p_tmap_" + t});
        for (String i : inputs) all.add(new String[] {".u64", "p_in_" + i});
        for (String s : sizes) all.add(new String[] {".s32", "p_" + s});
        for (String s : extraSizes) all.add(new String[] {".s32", "p_size_" + s});
        for (Param p : params) all.add(new String[] {p.type() == Type.FLOAT ? ".f32" : ".s32", "p_param_" + p.name()});
        return all;
    }

    /**
     * Loads every parameter into the register of the same name without {@code p_} (so
     * {@code p_in_doc} lands in {@code %in_doc}), global pointers converted from generic; a
     * tensor map stays in parameter space and its register holds its generic address, which is
     * what a bulk tensor copy takes.
     */
    void loadParams(PtxWriter out) {
        for (String[] declaration : declarations()) {
            String type = declaration[0], name = declaration[1];
            String reg = "%" + name.substring(2);
            if (type.equals(TENSOR_MAP)) {
                out.op("mov.b64", out.u64(reg), name);
                out.op("cvta.param.u64", reg, reg);
            } else if (type.equals(".u64")) {
                out.op("ld.param.u64", out.u64(reg), "[" + name + "]");
                out.op("cvta.to.global.u64", reg, reg);
            } else {
                out.op("ld.param" + type, out.reg(type, reg), "[" + name + "]");
            }
        }
    }

    /** The register (or immediate: head dims are constants of a module) {@link #loadParams} gives a size. */
    static String sizeRegister(String name, int headDim, int valueDim) {
        return switch (name) {
            case "D" -> Integer.toString(headDim);
            case "Dv" -> Integer.toString(valueDim);
            case "B", "H", "Hkv", "Nq", "Nkv" -> "%" + name;
            case "Q0" -> "%query_offset";
            default -> "%size_" + name;
        };
    }

    /** The entry header: {@code .visible .entry name(.param ... )}. */
    String header(String entry) {
        return ".visible .entry " + entry + parameterList(declarations());
    }

    /** {@code (.param ..., .param ...)}, one parameter a line, of {@code (PTX type, name)} pairs as {@link #declarations} gives them. */
    static String parameterList(List<String[]> declarations) {
        StringBuilder text = new StringBuilder("(\n");
        for (int i = 0; i < declarations.size(); i++) {
            String type = declarations.get(i)[0], name = declarations.get(i)[1];
            text.append("\t.param ").append(type.equals(TENSOR_MAP) ? ".align 64 .b8 " + name + "[128]" : type + " " + name)
                    .append(i + 1 < declarations.size() ? ",\n" : "\n");
        }
        return text.append(")").toString();
    }
}
