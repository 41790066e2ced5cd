"""A held-out set of hand-written requests for the fintech reference system.

Each is (text, agent a support lead would send it to). None of these texts is a
training example (`agents.reference_examples`) or a workload template: they measure how
a router does on requests worded the way real customers word them (`agentbus router
eval`, `bench/router_bench.py`).
"""

from __future__ import annotations

__all__ = ["REFERENCE_EVAL"]

_S, _T, _R, _G = "support", "transactions", "reports", "general"

REFERENCE_EVAL: tuple[tuple[str, str], ...] = (
    # support
    ("it says my account is temporarily restricted, what did i do", _S),
    ("I can't remember the secret number for my debit card", _S),
    ("the reset link in the email has expired already", _S),
    ("my card has stopped working at every shop today", _S),
    ("left my card in a taxi, please block it", _S),
    ("how do I update my phone number, I've got a new one", _S),
    ("why do you take a monthly charge from my account, I thought it was free", _S),
    ("hi can i close my account and move my money elsewhere", _S),
    ("the app logs me out and won't let me back in", _S),
    ("what do you need to verify me? i uploaded my licence already", _S),
    ("i was never told about a foreign usage charge, please reverse it", _S),
    ("my replacement card arrived damaged", _S),
    ("no me llega el código de verificación por sms", _S),
    ("can you unlock my account i got the pin wrong", _S),
    ("how do I switch on notifications for card payments", _S),
    ("i got a message to confirm my details or lose access, is that you or a scam", _S),
    ("the seller won't give my money back for a broken tv, can you help me fight it", _S),
    ("fingerprint login broken since yesterday", _S),
    ("I need a card for my teenage son", _S),
    ("how do i change my surname on the account after my divorce", _S),
    ("why is my new account still not activated", _S),
    ("i want to turn off the arranged overdraft", _S),
    ("my card's about to expire, when does the new one come", _S),
    (
        "I've been on the phone for an hour and nobody could tell me why I can't log in. "
        "I did the reset, I did the face scan, it still says something went wrong",
        _S,
    ),
    ("mot de passe oublié, je ne peux plus me connecter", _S),
    # transactions
    ("what is 'AMZ*DIGITAL 8821' on my account", _T),
    ("my bus fare came out twice this morning", _T),
    ("the money i sent my sister two days ago still hasn't arrived", _T),
    ("my card got rejected buying groceries but there's money on it", _T),
    ("there's a purchase in Brazil and I've never been there", _T),
    ("someone spent 400 on my card in an online casino, it wasn't me", _T),
    ("the hotel deposit should have been released by now", _T),
    ("how much have I spent at starbucks this month", _T),
    ("did the payment to my car finance go out", _T),
    ("netflix charged me but I cancelled in march", _T),
    ("cash machine didn't give me the 50 but took it from my balance", _T),
    ("i sent money to an old account number by mistake", _T),
    ("my wages still aren't in and it's payday", _T),
    ("ikea says they refunded my return on monday, nothing on my side", _T),
    ("some payments of 0.50 from a website i don't know, a few minutes apart", _T),
    ("the tickets were charged even though the booking failed", _T),
    ("paid my electricity bill but the company says they got nothing", _T),
    ("why does a payment show as pending and also as completed", _T),
    ("my direct debit for the phone bill bounced", _T),
    ("check please if the transfer from my dad landed", _T),
    ("alguien usó mi tarjeta en una tienda online, yo no fui", _T),
    ("why was I charged extra for paying in euros in france", _T),
    (
        "so i ordered a sofa in may and the company went bust, but i can see they took the "
        "full 900 out of my account, can you see if the money actually went to them or not",
        _T,
    ),
    ("my gym membership came out twice this month", _T),
    ("the restaurant bill shows up as 120 but I paid 12", _T),
    # reports
    ("can you send me last year's statement as a pdf, need it for the bank", _R),
    ("how much did i spend on eating out last month", _R),
    ("give me my spending broken down by category since january", _R),
    ("my accountant needs our expenses for q1 as a spreadsheet", _R),
    ("am i spending more than i earn lately?", _R),
    ("how much money came into the business each month this year", _R),
    ("estimate what my balance will be at the end of next month", _R),
    ("I need proof of 6 months of transactions for my landlord", _R),
    ("what did our company spend on software in total last year", _R),
    ("send me a summary of where my money went over the summer", _R),
    ("all my donations this tax year in one file please", _R),
    ("compare my grocery spending with last year", _R),
    ("total business mileage and fuel costs for my tax claim", _R),
    ("what's the average i spend per week on takeaways", _R),
    ("can you make an excel of all the payments to my builder", _R),
    ("quiero un resumen anual de mi cuenta para hacienda", _R),
    ("we need income and costs by month for our loan application", _R),
    ("how long until I reach my savings goal at this rate", _R),
    ("what share of my spending goes on transport", _R),
    ("download the statements for the whole of 2023", _R),
    ("i need a report of my interest earned for the tax office", _R),
    (
        "we're trying to work out if the shop is actually making money, can you put the last "
        "year side by side, what came in and what went out each month",
        _R,
    ),
    ("export my account history so I can load it into my budgeting app", _R),
    ("how much have I paid my landlord in total this year", _T),
    ("show me a graph of my spending over time", _R),
    # general
    ("good afternoon", _G),
    ("can I talk to a person please", _G),
    ("what are your hours on bank holidays", _G),
    ("do you have an office in glasgow", _G),
    ("is my money covered by a deposit guarantee", _G),
    ("what's the difference between the free account and the paid one", _G),
    ("do you offer credit cards", _G),
    ("can I buy bitcoin in the app", _G),
    ("do you have jobs for software engineers", _G),
    ("is there a version of the app for tablets", _G),
    ("what does your company do with my personal information", _G),
    ("can people from outside the EU become customers", _G),
    ("are you open on easter monday", _G),
    ("thank you so much, bye", _G),
    ("hello, what is this chat for?", _G),
    ("do you have a pension product", _G),
    ("who founded this company", _G),
    ("does the app work in spanish", _G),
    ("¿puedo abrir una cuenta si soy estudiante extranjero?", _G),
    ("what's the best way to contact head office", _G),
    ("will you ever offer home insurance", _G),
    ("tell me something funny", _G),
    ("how many customers do you have", _G),
    (
        "my dad is 80 and wants to join, is there anything special for older customers, like "
        "bigger text or someone to call?",
        _G,
    ),
    ("is there a referral code i can share with friends", _G),
)
"""The held-out set: (request text, expected agent)."""
