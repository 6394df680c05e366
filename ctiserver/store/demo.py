"""Demo data: the accounts and customers ``make run`` starts with, and the simulator's callers."""

from __future__ import annotations

# (login, name, role, interface, queues {queue: penalty}); the password is the login.
DEMO_AGENTS: tuple[tuple[str, str, str, str, dict[str, int]], ...] = (
    ("1001", "李娜 Li Na", "agent", "PJSIP/1001", {"support": 0}),
    ("1002", "王芳 Wang Fang", "agent", "PJSIP/1002", {"support": 0}),
    ("1003", "刘洋 Liu Yang", "agent", "PJSIP/1003", {"support": 0}),
    ("1900", "陈主管 Supervisor Chen", "supervisor", "PJSIP/1900", {}),
)

# (customer_no, name, class, phones, pin, note)
DEMO_CUSTOMERS: tuple[tuple[str, str, str, tuple[str, ...], str, str], ...] = (
    ("C0001", "张伟", "vip", ("13800138000",), "1234", "金卡客户 gold card"),
    ("C0002", "李强", "ordinary", ("13900139000",), "2345", ""),
    ("C0003", "陈静", "vip", ("13700137000", "01062345678"), "3456", "企业客户 business account"),
    ("C0004", "赵敏", "ordinary", ("13600136000",), "4567", ""),
    ("C0005", "Zhou Jie", "ordinary", ("15811112222",), "5678", ""),
)

# (number, caller id name) the simulator's demo traffic dials from: known customers
# (some in another written form of their number) and callers who are not customers.
DEMO_CALLERS: list[tuple[str, str]] = [
    ("13800138000", "张伟"),
    ("13900139000", "李强"),
    ("+8613700137000", "陈静"),
    ("01062345678", "陈静办公室"),
    ("13600136000", "赵敏"),
    ("15811112222", "Zhou Jie"),
    ("13512345678", "王先生"),
    ("18688886666", ""),
    ("02187654321", "上海分公司"),
    ("17700001111", "Anonymous"),
]
