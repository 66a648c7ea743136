package attnc.ptx.emit;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds the text of one PTX entry: instructions with comments, and the named registers they use
 * (declared once, at the top of the body, in first-use order so the text is deterministic).
 */
final class PtxWriter {
    private final StringBuilder body = new StringBuilder();
    private final Map<String, String> registers = new LinkedHashMap<>();
    private int labels;

    /** Declares {@code name} (with its leading %) as a register of {@code type} (.f32, .s32, .pred, ...); returns it. */
    String reg(String type, String name) {
        String known = registers.putIfAbsent(name, type);
        if (known != null && !known.equals(type)) throw new IllegalStateException(name + " declared as " + known + " and " + type);
        return name;
    }

    String f32(String name) { return reg(".f32", name); }
    String s32(String name) { return reg(".s32", name); }
    String u32(String name) { return reg(".u32", name); }
    String b32(String name) { return reg(".b32", name); }
    String u64(String name) { return reg(".u64", name); }
    String b64(String name) { return reg(".b64", name); }
    String pred(String name) { return reg(".pred", name); }

    /** One instruction written out whole; the semicolon is added. */
    PtxWriter op(String instruction) {
        body.append("\t").append(instruction).append(";\n");
        return this;
    }

    /**
     * {@code opcode operand, operand, ...;}: the opcode (with its guard, {@code @%p bra}) and its
     * operands, registers, immediates or addresses as PTX spells them.
     */
    PtxWriter op(String opcode, Object... operands) {
        body.append("\t").append(opcode);
        for (int i = 0; i < operands.length; i++) body.append(i == 0 ? " " : ", ").append(operands[i]);
        body.append(";\n");
        return this;
    }

    /** A line written as given: a scope's braces, a declaration inside one. */
    PtxWriter line(String text) {
        body.append("\t").append(text).append("\n");
        return this;
    }

    PtxWriter comment(String text) {
        for (String line : text.split("\n")) body.append("\t// ").append(ascii(line)).append("\n");
        return this;
    }

    /** ptxas accepts only ASCII, even in comments. */
    static String ascii(String text) {
        String plain = text.replace("\u00b7", "*").replace("\u2192", "->").replace("\u2212", "-").replace("\u221e", "inf")
                .replace("\u1d40", "^T").replace("\u2264", "<=").replace("\u2265", ">=").replace("\u2014", "--").replace("\u00d7", "x");
        StringBuilder out = new StringBuilder();
        plain.codePoints().forEach(c -> out.append(c < 128 ? (char) c : '?'));
        return out.toString();
    }

    PtxWriter blank() {
        body.append("\n");
        return this;
    }

    PtxWriter label(String label) {
        body.append(label).append(":\n");
        return this;
    }

    /** A fresh label with a readable stem. */
    String newLabel(String stem) {
        return "$L_" + stem + "_" + labels++;
    }

    /** The entry's body: register declarations then instructions. */
    String render() {
        StringBuilder text = new StringBuilder();
        for (var entry : registers.entrySet()) {
            text.append("\t.reg ").append(entry.getValue()).append(" ").append(entry.getKey()).append(";\n");
        }
        return text.append("\n").append(body).toString();
    }

    /** A float as PTX's exact hexadecimal literal (0f3F800000 is 1.0). */
    static String f32Literal(double value) {
        return String.format("0f%08X", Float.floatToRawIntBits((float) value));
    }
}
