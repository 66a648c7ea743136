package attnc.ptx.emit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs the integer arithmetic of emitted PTX for one thread, so that tests can check the indices
 * and addresses a kernel computes without a GPU. Registers start from the values given; an
 * instruction whose operands are all known and whose operation is one of those below sets its
 * destination, any other leaves it unknown (a load, say). Each instruction line, with the
 * registers as they stand before it, goes to an observer first (to record a copy's operands).
 */
final class IntegerPtx {
    private static final Pattern LINE = Pattern.compile("^\\t(@(%[\\w.]+) )?([\\w.:]+) (.*);$");

    /** One instruction as the observer sees it. */
    record Instruction(String guard, String op, String[] operands) {}

    private IntegerPtx() {}

    /** Runs {@code text} from {@code registers} (changed in place), showing each instruction to {@code observer} before it runs. */
    static void run(String text, Map<String, Long> registers, Consumer<Instruction> observer) {
        for (String line : text.split("\n")) {
            Matcher m = LINE.matcher(line);
            if (!m.matches()) continue;
            Instruction instruction = new Instruction(m.group(2), m.group(3), m.group(4).split(", "));
            observer.accept(instruction);
            if (instruction.op().startsWith("cp.async")) continue;
            Long value = evaluate(instruction.op(), instruction.operands(), registers);
            if (value == null) registers.remove(instruction.operands()[0]);
            else registers.put(instruction.operands()[0], value);
        }
    }

    /** Starting registers: the given pairs, name then value. */
    static Map<String, Long> registers(Object... pairs) {
        Map<String, Long> registers = new HashMap<>();
        for (int i = 0; i < pairs.length; i += 2) registers.put((String) pairs[i], ((Number) pairs[i + 1]).longValue());
        return registers;
    }

    private static Long evaluate(String op, String[] operands, Map<String, Long> registers) {
        List<Long> in = new ArrayList<>();
        for (int i = 1; i < operands.length; i++) {
            String operand = operands[i];
            Long known = operand.startsWith("%") ? registers.get(operand) : operand.matches("-?\\d+") ? Long.valueOf(operand) : null;
            if (known == null) return null;
            in.add(known);
        }
        return switch (op) {
            case "mov.u32", "mov.s32", "mov.b32", "cvt.u32.u64" -> in.get(0);
            case "cvt.u64.u32", "cvt.u64.u16" -> in.get(0) & 0xffffffffL;
            case "cvt.s64.s32" -> (long) (int) (long) in.get(0);
            case "add.s32", "add.u32", "add.s64", "add.u64" -> in.get(0) + in.get(1);
            case "sub.s32", "sub.s64" -> in.get(0) - in.get(1);
            case "mul.lo.s32", "mul.wide.s32" -> in.get(0) * in.get(1);
            case "mad.lo.s32" -> in.get(0) * in.get(1) + in.get(2);
            case "div.s32", "div.u32" -> in.get(0) / in.get(1);
            case "rem.s32" -> in.get(0) % in.get(1);
            case "and.b32" -> in.get(0) & in.get(1);
            case "or.b32", "or.b64" -> in.get(0) | in.get(1);
            case "xor.b32", "xor.b64" -> in.get(0) ^ in.get(1);
            case "shl.b32" -> in.get(0) << in.get(1);
            case "shr.s32" -> in.get(0) >> in.get(1);
            case "shr.u32" -> shift(in.get(1), 32) ? (in.get(0) & 0xffffffffL) >>> in.get(1) : 0L;
            // 64-bit shifts take the amount as u32 and clamp it at 64, as PTX does.
            case "shl.b64" -> shift(in.get(1), 64) ? in.get(0) << in.get(1) : 0L;
            case "shr.u64" -> shift(in.get(1), 64) ? in.get(0) >>> in.get(1) : 0L;
            case "min.s32", "min.u32", "min.u64" -> Math.min(in.get(0), in.get(1));
            case "max.u32", "max.u64" -> Math.max(in.get(0), in.get(1));
            case "setp.lt.s32" -> in.get(0) < in.get(1) ? 1L : 0L;
            case "setp.lt.u64" -> Long.compareUnsigned(in.get(0), in.get(1)) < 0 ? 1L : 0L;
            case "setp.ge.u32" -> Long.compareUnsigned(in.get(0) & 0xffffffffL, in.get(1) & 0xffffffffL) >= 0 ? 1L : 0L;
            case "selp.u64", "selp.b64", "selp.s32", "selp.u32" -> in.get(2) != 0 ? in.get(0) : in.get(1);
            case "and.pred" -> in.get(0) & in.get(1);
            default -> null;
        };
    }

    /** Whether a shift by {@code amount}, read as u32, stays below the register's {@code width}. */
    private static boolean shift(long amount, int width) {
        return (amount & 0xffffffffL) < width;
    }
}
